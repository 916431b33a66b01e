package deploytest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// syncdBinary returns the syncd to run: $SYNCD_BIN (make deploy-test passes the static
// build), else one built here from the repository.
func syncdBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("SYNCD_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "syncd")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/syncd")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building syncd: %v\n%s", err, out)
	}
	return bin
}

// TestTheConfigMapPassesCheckConfig runs `syncd check-config --offline` on each
// overlay's syncd.yaml the way the pod would: with the container's environment as
// the rendered Deployment builds it (values, the Secret's keys, the env ConfigMap)
// and the Secret's files where the pod mounts them. Only the mount point moves, to a
// temporary directory, through the SYNCD_SECRET_DIR variable the configuration uses.
func TestTheConfigMapPassesCheckConfig(t *testing.T) {
	bin := syncdBinary(t)
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			r := render(t, dir)
			pod := r.Deployment.Spec.Template.Spec
			c := pod.Containers[0]
			tmp := t.TempDir()

			env := containerEnv(t, r, c)
			secretDir := filepath.Join(tmp, "secret")
			configFile := filepath.Join(tmp, "config", "syncd.yaml")
			for _, v := range pod.Volumes {
				mount := mountPath(c, v.Name)
				switch {
				case v.Secret != nil:
					if mount != env["SYNCD_SECRET_DIR"] {
						t.Fatalf("the Secret is mounted at %q but SYNCD_SECRET_DIR is %q", mount, env["SYNCD_SECRET_DIR"])
					}
					for _, item := range v.Secret.Items {
						writeFile(t, filepath.Join(secretDir, item.Path), secretValue(t, r.Secret, v.Secret.SecretName, item.Key))
					}
				case v.ConfigMap != nil:
					cm := r.ConfigMaps[v.ConfigMap.Name]
					if cm == nil {
						t.Fatalf("volume %s names ConfigMap %s, which is not rendered", v.Name, v.ConfigMap.Name)
					}
					if !strings.Contains(strings.Join(c.Args, " "), "--config "+filepath.Join(mount, "syncd.yaml")) {
						t.Fatalf("the container's args %q do not name %s/syncd.yaml", c.Args, mount)
					}
					writeFile(t, configFile, cm.Data["syncd.yaml"])
				}
			}
			env["SYNCD_SECRET_DIR"] = secretDir

			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "check-config", "--offline", "--config", configFile)
			cmd.Dir = tmp
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("syncd check-config --offline: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "ok    secrets are readable") {
				t.Errorf("check-config did not read the secrets:\n%s", out)
			}
		})
	}
}

// containerEnv resolves the container's environment from the rendered objects.
func containerEnv(t *testing.T, r rendered, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Fatalf("envFrom %+v: only ConfigMaps are expected", from)
		}
		cm := r.ConfigMaps[from.ConfigMapRef.Name]
		if cm == nil {
			t.Fatalf("envFrom names ConfigMap %s, which is not rendered", from.ConfigMapRef.Name)
		}
		for k, v := range cm.Data {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = secretValue(t, r.Secret, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
		default:
			t.Fatalf("env %s: only values and Secret keys are expected", e.Name)
		}
	}
	return env
}

func secretValue(t *testing.T, s *corev1.Secret, name, key string) string {
	t.Helper()
	if s.Name != name {
		t.Fatalf("Secret %s is referenced, but the rendered one is %s", name, s.Name)
	}
	if v, ok := s.StringData[key]; ok {
		return v
	}
	if v, ok := s.Data[key]; ok {
		return string(v)
	}
	t.Fatalf("Secret %s has no key %s", name, key)
	return ""
}

func mountPath(c corev1.Container, volume string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	return ""
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
