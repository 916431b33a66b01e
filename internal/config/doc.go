// Package config loads syncd's YAML configuration: defaults, strict validation
// (unknown keys are errors) and secrets read from files or the environment. It gathers
// the per-package configuration types so that one vocabulary is used everywhere.
package config
