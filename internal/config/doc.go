// Package config loads syncd's YAML configuration: one file, in one vocabulary with
// the packages it configures (the source and mapping sections are their own types).
//
// Loading is strict, because a mistake in this file can deactivate people: an unknown
// key is an error (a misspelt guardrail would otherwise fall back to its default),
// and every problem (unknown keys, values of the wrong type, unset variables, invalid
// settings, including those the source and mapping packages find) is reported at once,
// each as "file:line: key.path: message".
//
// ${NAME} in a value is replaced by an environment variable, read through a function
// the caller passes in; $$ is a literal $. Expansion happens in the parsed values, never
// in the raw text, so a variable cannot add YAML structure.
//
// Secrets are never written in the file: keys ending in _file or _env say where they
// are, and LoadSecrets reads them, apart from Load so that a configuration can be
// checked where its secrets are not mounted. Everything secret that is held (the
// secrets read and the store DSN, which may carry a password through ${ENV}) is a
// secret.Secret, so printing or marshalling a configuration never shows it.
//
// Defaults are applied in one place (applyDefaults) and documented, with every key,
// in config.example.yaml at the repository root, which a test loads.
package config
