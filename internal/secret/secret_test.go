package secret

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const value = "s3cr3t-VALUE-42"

// holder embeds a Secret the way configuration and clients do, in exported and
// unexported fields alike.
type holder struct {
	Name    string `json:"name" yaml:"name"`
	Token   Secret `json:"token" yaml:"token"`
	Ptr     *Secret
	Nested  struct{ Key Secret }
	private Secret
	inner   struct{ key Secret }
}

func TestSecretNeverShowsItsValue(t *testing.T) {
	s := New(value)
	p := s
	h := holder{Name: "x", Token: s, Ptr: &p}
	h.Nested.Key = s
	h.private = s
	h.inner.key = s

	var renders []string
	for _, verb := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%d", "%T %v"} {
		renders = append(renders, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	renders = append(renders, fmt.Sprint(s, h), fmt.Sprintln(s, h))
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	renders = append(renders, string(j), string(y))
	for _, r := range renders {
		if strings.Contains(r, value) || strings.Contains(r, fmt.Sprintf("%x", value)) {
			t.Errorf("rendering revealed the secret: %s", r)
		}
	}
	var back map[string]any
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	if back["token"] != Redacted {
		t.Errorf("JSON = %s, want the token shown as %s", j, Redacted)
	}
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q, want %q", s.Reveal(), value)
	}
}

func TestSecretZero(t *testing.T) {
	if !(Secret{}).IsZero() || New("x").IsZero() {
		t.Error("IsZero is wrong")
	}
	if !New("a").Equal(New("a")) || New("a").Equal(New("b")) || !New("").Equal(Secret{}) {
		t.Error("Equal should compare by value")
	}
}

func TestFromFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, content, want string
		wantErr             error
	}{
		{name: "plain", content: value, want: value},
		{name: "trailing newline", content: value + "\n", want: value},
		{name: "crlf", content: value + "\r\n", want: value},
		{name: "inner newline kept", content: "a\nb\n", want: "a\nb"},
		{name: "empty", content: "", wantErr: ErrEmpty},
		{name: "only newline", content: "\n", wantErr: ErrEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := FromFile(write(strings.ReplaceAll(tt.name, " ", "_"), tt.content))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Reveal() != tt.want {
				t.Errorf("value = %q, want %q", s.Reveal(), tt.want)
			}
		})
	}
	_, err := FromFile(filepath.Join(dir, "missing"))
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: err = %v, want one naming the file", err)
	}
}
