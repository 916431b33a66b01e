package deploytest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// adminPort is the port syncd's admin server listens on (server.listen ":9090").
const adminPort = 9090

// TestThePodIsHardened checks what a restricted Pod Security Standard and a careful
// reviewer ask of every overlay's pod.
func TestThePodIsHardened(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			r := render(t, dir)
			pod := r.Deployment.Spec.Template.Spec
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Containers))
			}
			c := pod.Containers[0]
			sc := c.SecurityContext
			if sc == nil {
				t.Fatal("the container has no securityContext")
			}
			for _, check := range []struct {
				name string
				ok   bool
			}{
				{"the pod runs as non-root", ptr.Deref(pod.SecurityContext.RunAsNonRoot, false)},
				{"the pod runs as a non-zero user", ptr.Deref(pod.SecurityContext.RunAsUser, 0) > 0},
				{"the pod's seccomp profile is RuntimeDefault", pod.SecurityContext.SeccompProfile != nil &&
					pod.SecurityContext.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
				{"the container runs as non-root", ptr.Deref(sc.RunAsNonRoot, false)},
				{"the root filesystem is read-only", ptr.Deref(sc.ReadOnlyRootFilesystem, false)},
				{"privilege escalation is off", sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation},
				{"the container is not privileged", !ptr.Deref(sc.Privileged, false)},
				{"every capability is dropped", sc.Capabilities != nil &&
					cmp.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) && len(sc.Capabilities.Add) == 0},
				{"the container's seccomp profile is RuntimeDefault", sc.SeccompProfile != nil &&
					sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
				{"no service account token is mounted", pod.AutomountServiceAccountToken != nil && !*pod.AutomountServiceAccountToken &&
					r.ServiceAccount.AutomountServiceAccountToken != nil && !*r.ServiceAccount.AutomountServiceAccountToken},
				{"the pod uses syncd's service account", pod.ServiceAccountName == r.ServiceAccount.Name},
				{"memory is requested and limited", !c.Resources.Requests.Memory().IsZero() && !c.Resources.Limits.Memory().IsZero()},
				{"CPU is requested", !c.Resources.Requests.Cpu().IsZero()},
				{"every volume mount is read-only", allReadOnly(c.VolumeMounts)},
				{"the host's namespaces are not shared", !pod.HostNetwork && !pod.HostPID && !pod.HostIPC},
			} {
				if !check.ok {
					t.Errorf("%s: not so", check.name)
				}
			}
		})
	}
}

func allReadOnly(mounts []corev1.VolumeMount) bool {
	for _, m := range mounts {
		if !m.ReadOnly {
			return false
		}
	}
	return len(mounts) > 0
}

// TestProbesAskTheAdminServer checks liveness on /healthz and readiness on /readyz,
// on the port the Service and the ServiceMonitor use.
func TestProbesAskTheAdminServer(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			r := render(t, dir)
			c := r.Deployment.Spec.Template.Spec.Containers[0]
			admin := intstr.FromString("admin")
			want := []corev1.ContainerPort{{Name: "admin", ContainerPort: adminPort, Protocol: corev1.ProtocolTCP}}
			if diff := cmp.Diff(want, c.Ports); diff != "" {
				t.Errorf("container ports (-want +got):\n%s", diff)
			}
			for _, p := range []struct {
				name  string
				probe *corev1.Probe
				path  string
			}{
				{"liveness", c.LivenessProbe, "/healthz"},
				{"readiness", c.ReadinessProbe, "/readyz"},
			} {
				if p.probe == nil || p.probe.HTTPGet == nil {
					t.Errorf("no HTTP %s probe", p.name)
					continue
				}
				got := *p.probe.HTTPGet
				if got.Path != p.path || got.Port != admin {
					t.Errorf("%s probe asks %s on port %s, want %s on admin", p.name, got.Path, got.Port.String(), p.path)
				}
				if p.probe.PeriodSeconds == 0 || p.probe.FailureThreshold == 0 || p.probe.TimeoutSeconds == 0 {
					t.Errorf("%s probe leaves its period, timeout or threshold to the defaults", p.name)
				}
			}
			if got := r.Service.Spec.Ports; len(got) != 1 || got[0].Name != "admin" || got[0].TargetPort != admin {
				t.Errorf("the Service's ports %+v do not expose the admin port", got)
			}
			if eps := r.ServiceMonitor.Spec.Endpoints; len(eps) != 1 || eps[0].Port != "admin" || eps[0].Path != "/metrics" {
				t.Errorf("the ServiceMonitor's endpoints %+v do not scrape admin /metrics", eps)
			}
			if !isSubset(r.ServiceMonitor.Spec.Selector.MatchLabels, r.Service.Labels) {
				t.Errorf("the ServiceMonitor selects %v, which the Service's labels %v lack", r.ServiceMonitor.Spec.Selector.MatchLabels, r.Service.Labels)
			}
		})
	}
}

// isSubset reports whether every key of sub has the same value in super, as a
// label selector's matchLabels must on the labels it selects.
func isSubset(sub, super map[string]string) bool {
	for k, v := range sub {
		if got, ok := super[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// TestSelectorsSelectThePods checks that the Deployment, Service, PDB and
// NetworkPolicy select syncd's pods and the monitoring namespace reaches only them.
func TestSelectorsSelectThePods(t *testing.T) {
	r := render(t, "deploy/base")
	labels := r.Deployment.Spec.Template.Labels
	for name, sel := range map[string]map[string]string{
		"Deployment":    r.Deployment.Spec.Selector.MatchLabels,
		"Service":       r.Service.Spec.Selector,
		"PDB":           r.PDB.Spec.Selector.MatchLabels,
		"NetworkPolicy": r.NetworkPolicy.Spec.PodSelector.MatchLabels,
	} {
		if len(sel) == 0 || !isSubset(sel, labels) {
			t.Errorf("the %s selects %v, not the pod's labels %v", name, sel, labels)
		}
	}
	if r.PDB.Spec.MaxUnavailable == nil || r.PDB.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("the PDB allows %v unavailable, want 1 (a drain must stay possible with one replica)", r.PDB.Spec.MaxUnavailable)
	}
	if got := ptr.Deref(r.Deployment.Spec.Replicas, 1); got != 2 {
		t.Errorf("the base runs %d replicas, want 2", got)
	}
}

// TestNetworkPolicyAllowsOnlyWhatSyncdNeeds checks ingress from the monitoring
// namespace to the admin port, and egress to HTTPS, PostgreSQL and DNS only.
func TestNetworkPolicyAllowsOnlyWhatSyncdNeeds(t *testing.T) {
	np := render(t, "deploy/base").NetworkPolicy.Spec
	if diff := cmp.Diff([]networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, np.PolicyTypes); diff != "" {
		t.Errorf("policy types (-want +got):\n%s", diff)
	}
	type rule struct {
		Ports []string // protocol/port
		Peers []string // namespace labels | pod labels; "any" for none
	}
	summarize := func(ports []networkingv1.NetworkPolicyPort, peers []networkingv1.NetworkPolicyPeer) rule {
		var r rule
		for _, p := range ports {
			r.Ports = append(r.Ports, string(ptr.Deref(p.Protocol, corev1.ProtocolTCP))+"/"+p.Port.String())
		}
		for _, p := range peers {
			s := ""
			if p.NamespaceSelector != nil {
				s += "ns" + labelsString(p.NamespaceSelector.MatchLabels)
			}
			if p.PodSelector != nil {
				s += "pod" + labelsString(p.PodSelector.MatchLabels)
			}
			if p.IPBlock != nil {
				s += "ip:" + p.IPBlock.CIDR
			}
			r.Peers = append(r.Peers, s)
		}
		if len(peers) == 0 {
			r.Peers = []string{"any"}
		}
		return r
	}
	var ingress, egress []rule
	for _, in := range np.Ingress {
		ingress = append(ingress, summarize(in.Ports, in.From))
	}
	for _, out := range np.Egress {
		egress = append(egress, summarize(out.Ports, out.To))
	}
	wantIngress := []rule{{Ports: []string{"TCP/admin"}, Peers: []string{"ns{kubernetes.io/metadata.name=monitoring}"}}}
	wantEgress := []rule{
		{Ports: []string{"TCP/443"}, Peers: []string{"any"}},
		{Ports: []string{"TCP/5432"}, Peers: []string{"pod{app.kubernetes.io/name=postgresql}"}},
		{Ports: []string{"UDP/53", "TCP/53"}, Peers: []string{"ns{kubernetes.io/metadata.name=kube-system}pod{k8s-app=kube-dns}"}},
	}
	if diff := cmp.Diff(wantIngress, ingress); diff != "" {
		t.Errorf("ingress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantEgress, egress); diff != "" {
		t.Errorf("egress (-want +got):\n%s", diff)
	}
}

func labelsString(m map[string]string) string {
	s := "{"
	first := true
	for _, k := range sortedKeys(m) {
		if !first {
			s += ","
		}
		s += k + "=" + m[k]
		first = false
	}
	return s + "}"
}

// TestSandboxOverlay checks what the overlay changes and that it changes nothing else
// a reviewer would have to look for.
func TestSandboxOverlay(t *testing.T) {
	base, sandbox := render(t, "deploy/base"), render(t, "deploy/overlays/sandbox")
	if got := ptr.Deref(sandbox.Deployment.Spec.Replicas, 1); got != 1 {
		t.Errorf("the sandbox runs %d replicas, want 1", got)
	}
	if base.Namespace != "syncd" || sandbox.Namespace != "syncd-sandbox" {
		t.Errorf("namespaces %q and %q, want syncd and syncd-sandbox", base.Namespace, sandbox.Namespace)
	}
	for _, tc := range []struct {
		name, key, base, sandbox string
	}{
		{"the sandbox signs in at test.salesforce.com", "SF_LOGIN_URL", "https://login.salesforce.com", "https://test.salesforce.com"},
		{"the sandbox's usernames get a suffix", "SYNCD_USERNAME_SUFFIX", "", ".uat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := base.configMap("syncd-env").Data[tc.key]; got != tc.base {
				t.Errorf("base %s = %q, want %q", tc.key, got, tc.base)
			}
			if got := sandbox.configMap("syncd-env").Data[tc.key]; got != tc.sandbox {
				t.Errorf("sandbox %s = %q, want %q", tc.key, got, tc.sandbox)
			}
		})
	}
	if diff := cmp.Diff(base.configMap("syncd-config").Data, sandbox.configMap("syncd-config").Data); diff != "" {
		t.Errorf("the sandbox changed syncd.yaml itself (-base +sandbox):\n%s", diff)
	}
}
