// Package deploytest checks syncd's deployment as code: it renders deploy/ with
// kustomize, decodes every object strictly into its Kubernetes or Prometheus Operator
// type, checks the pod's hardening and probes, runs syncd's check-config on the
// ConfigMap, runs promtool on the alerts, and checks that the dashboard and the
// alerts query only metrics syncd registers. It is a Go module of its own so that the
// Kubernetes, kustomize and Prometheus dependencies stay out of syncd's go.mod; it
// imports no syncd package and reads what it needs (docs/metrics.md, the Dockerfile)
// as files.
package deploytest
