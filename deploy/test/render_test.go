package deploytest

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// repoRoot is the syncd repository, two directories up from this module.
const repoRoot = "../.."

// overlays are the kustomizations a user may apply, each rendered by every test.
var overlays = []string{"deploy/base", "deploy/overlays/sandbox"}

// rendered is one kustomization's output, decoded into the API types.
type rendered struct {
	Deployment      *appsv1.Deployment
	Service         *corev1.Service
	ServiceAccount  *corev1.ServiceAccount
	ConfigMaps      map[string]*corev1.ConfigMap // by name, with kustomize's hash suffix
	Secret          *corev1.Secret
	PDB             *policyv1.PodDisruptionBudget
	NetworkPolicy   *networkingv1.NetworkPolicy
	ServiceMonitor  *monitoringv1.ServiceMonitor
	PrometheusRule  *monitoringv1.PrometheusRule
	Namespace       string
	objectsRendered int
}

// render runs kustomize on dir (relative to the repository) and decodes every object
// strictly: an unknown or misspelt field fails the test, as does a kind rendered twice
// or one the deployment is not meant to hold.
func render(t *testing.T, dir string) rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot, dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out := rendered{ConfigMaps: map[string]*corev1.ConfigMap{}}
	for _, res := range m.Resources() {
		doc, err := res.AsYAML()
		if err != nil {
			t.Fatalf("%s: %s: %v", dir, res.CurId(), err)
		}
		where := fmt.Sprintf("%s: %s %s", dir, res.GetKind(), res.GetName())
		if err := out.add(res.GetKind(), res.GetName(), doc); err != nil {
			t.Fatalf("%s: %v\n%s", where, err, doc)
		}
		if ns := res.GetNamespace(); out.Namespace == "" {
			out.Namespace = ns
		} else if ns != out.Namespace {
			t.Errorf("%s is in namespace %q, the others in %q", where, ns, out.Namespace)
		}
	}
	return out
}

// configMap returns the ConfigMap kustomize generated under name (with a hash
// suffix), or nil.
func (r *rendered) configMap(name string) *corev1.ConfigMap {
	for full, cm := range r.ConfigMaps {
		if strings.HasPrefix(full, name+"-") && !strings.Contains(full[len(name)+1:], "-") {
			return cm
		}
	}
	return nil
}

// add decodes doc strictly into the type of kind and files it.
func (r *rendered) add(kind, name string, doc []byte) error {
	var err error
	switch kind {
	case "Deployment":
		err = decodeOnce(doc, &r.Deployment)
	case "Service":
		err = decodeOnce(doc, &r.Service)
	case "ServiceAccount":
		err = decodeOnce(doc, &r.ServiceAccount)
	case "Secret":
		err = decodeOnce(doc, &r.Secret)
	case "PodDisruptionBudget":
		err = decodeOnce(doc, &r.PDB)
	case "NetworkPolicy":
		err = decodeOnce(doc, &r.NetworkPolicy)
	case "ServiceMonitor":
		err = decodeOnce(doc, &r.ServiceMonitor)
	case "PrometheusRule":
		err = decodeOnce(doc, &r.PrometheusRule)
	case "ConfigMap":
		var cm *corev1.ConfigMap
		if err = decodeOnce(doc, &cm); err == nil {
			if _, dup := r.ConfigMaps[name]; dup {
				return fmt.Errorf("ConfigMap %s rendered twice", name)
			}
			r.ConfigMaps[name] = cm
		}
	default:
		return fmt.Errorf("unexpected kind %s", kind)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	r.objectsRendered++
	return nil
}

// decodeOnce decodes doc strictly (unknown and duplicate fields are errors) into a
// new *T stored in *dst, refusing a second object of the same kind.
func decodeOnce[T any](doc []byte, dst **T) error {
	if *dst != nil {
		return fmt.Errorf("rendered twice")
	}
	v := new(T)
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		return fmt.Errorf("strict decoding: %w", err)
	}
	*dst = v
	return nil
}

func TestEveryOverlayRendersTheWholeDeployment(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			r := render(t, dir)
			missing := map[string]bool{
				"Deployment": r.Deployment == nil, "Service": r.Service == nil,
				"ServiceAccount": r.ServiceAccount == nil, "Secret": r.Secret == nil,
				"PodDisruptionBudget": r.PDB == nil, "NetworkPolicy": r.NetworkPolicy == nil,
				"ServiceMonitor": r.ServiceMonitor == nil, "PrometheusRule": r.PrometheusRule == nil,
				"ConfigMap syncd-config": r.configMap("syncd-config") == nil,
				"ConfigMap syncd-env":    r.configMap("syncd-env") == nil,
			}
			for what, gone := range missing {
				if gone {
					t.Errorf("%s renders no %s", dir, what)
				}
			}
			if r.objectsRendered != 10 {
				t.Errorf("%s renders %d objects, want 10", dir, r.objectsRendered)
			}
		})
	}
}

// TestStrictDecodingRefusesUnknownFields shows the decoding above would catch a
// misspelt field, which Kubernetes' own lenient decoding would drop silently.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kind    string
		doc     string
		wantErr bool
	}{
		{"a well-formed Deployment", "Deployment", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 2\n", false},
		{"a misspelt field", "Deployment", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replica: 2\n", true},
		{"a field at the wrong level", "ServiceMonitor", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nspec:\n  port: admin\n", true},
		{"a duplicate field", "Service", "apiVersion: v1\nkind: Service\nspec:\n  type: ClusterIP\n  type: NodePort\n", true},
		{"a kind the deployment does not hold", "Ingress", "apiVersion: networking.k8s.io/v1\nkind: Ingress\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rendered{ConfigMaps: map[string]*corev1.ConfigMap{}}
			err := r.add(tc.kind, "x", []byte(tc.doc))
			if (err != nil) != tc.wantErr {
				t.Errorf("add(%s) = %v, want an error: %t", tc.kind, err, tc.wantErr)
			}
		})
	}
}
