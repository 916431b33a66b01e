package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// startRun runs run in a goroutine and returns the base URL it printed, a cancel
// function and the channel of its exit code.
func startRun(t *testing.T, args ...string) (string, context.CancelFunc, <-chan int, *strings.Builder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &strings.Builder{}
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, args, pw, stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no first line: %v (stderr: %s)", err, stderr)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return strings.TrimSpace(line), cancel, code, stderr
}

func token(t *testing.T, base string, form url.Values) (int, map[string]string) {
	t.Helper()
	resp, err := http.PostForm(base+"/services/oauth2/token", form)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("token answer: %v", err)
	}
	return resp.StatusCode, out
}

func TestRunServesAndStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	key, certPEM := newCert(t)
	certFile := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	seedFile := filepath.Join(dir, "seed.json")
	if err := os.WriteFile(seedFile, []byte(`{"users":[{"Username":"seeded@acme.example.com","LastName":"Seed"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base, cancel, code, stderr := startRun(t, "--addr", "127.0.0.1:0", "--client-id", "cid", "--client-secret", "sec",
		"--username", "robot@acme.example.com", "--jwt-cert", certFile, "--seed", seedFile, "--api-max", "5")
	defer cancel()
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line = %q, want the base URL", base)
	}

	status, tok := token(t, base, url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"sec"}})
	if status != 200 || tok["instance_url"] != base {
		t.Fatalf("client credentials: %d %v", status, tok)
	}
	assertion, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": "cid", "sub": "robot@acme.example.com", "aud": "https://login.salesforce.com",
		"exp": time.Now().Add(2 * time.Minute).Unix(),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	status, jwtTok := token(t, base, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}})
	if status != 200 || jwtTok["access_token"] == "" {
		t.Fatalf("jwt bearer: %d %v", status, jwtTok)
	}

	req, _ := http.NewRequest("GET", base+"/services/data/v67.0/query?q="+url.QueryEscape("SELECT Username FROM User WHERE Username = 'seeded@acme.example.com'"), nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"totalSize":1`) || resp.Header.Get("Sforce-Limit-Info") != "api-usage=1/5" {
		t.Fatalf("query: %d %v %s", resp.StatusCode, resp.Header, body)
	}

	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit code %d, stderr %s", c, stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
	if _, err := http.Get(base + "/services/data/"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--no-such-flag"},
		{"--seed", "/does/not/exist.json"},
		{"--jwt-cert", "/does/not/exist.pem"},
		{"--fault-rate", "2"},
		{"extra"},
		{"--addr", "not-an-address"},
	} {
		var stdout, stderr strings.Builder
		if c := run(context.Background(), args, &stdout, &stderr); c == 0 {
			t.Errorf("run(%q) = 0, want a failure", args)
		} else if stderr.Len() == 0 {
			t.Errorf("run(%q) = %d without saying why", args, c)
		}
	}
}

// TestBinaryStopsOnSIGTERM builds the command and checks the process answers and
// exits cleanly on SIGTERM, which main (not run) wires up.
func TestBinaryStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "sfsim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("first line: %v", err)
	}
	resp, err := http.Get(strings.TrimSpace(line) + "/services/data/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("versions: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not exit after SIGTERM")
	}
}

// newCert makes an RSA key and a self-signed certificate for it, in PEM.
func newCert(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "syncd"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
