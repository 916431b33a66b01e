//go:build unix

package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The sfsim processes' configuration, shared with the node tests through the
// environment (see jsforce/lib.js).
const (
	clientID      = "3MVG9interop.consumer.key"
	clientSecret  = "interop-consumer-secret"
	integrationID = "integration@interop.example"

	// seededUsers is more than one default query page (2000), so paging is exercised.
	seededUsers = 2500
	// apiMax is the allowance of the seeded org: far more than the tests spend.
	apiMax = 1000000
	// limitedAPIMax is the allowance of the org that limits.test.js spends completely.
	limitedAPIMax = 10
	// sessionTTL is the access token life of the org session.test.js waits out.
	sessionTTL = 2 * time.Second
)

// TestJsforce drives sfsim with jsforce, a widely used Salesforce client from npm,
// through the node test files in jsforce/. jsforce knows nothing of sfsim: whatever it
// accepts is what real Salesforce sends, so a failure here means sfsim's wire differs
// from Salesforce's (or the node test is wrong).
func TestJsforce(t *testing.T) {
	node := requireNode(t)
	dir := t.TempDir()

	bin := buildSfsim(t, dir)
	keyPath, certPath := writeJWTKeyPair(t, dir)
	seedPath := writeSeed(t, dir)
	common := []string{
		"--addr", "127.0.0.1:0",
		"--client-id", clientID,
		"--client-secret", clientSecret,
		"--username", integrationID,
		"--jwt-cert", certPath,
	}
	seeded := startSfsim(t, bin, slices.Concat(common, []string{"--seed", seedPath, "--api-max", strconv.Itoa(apiMax)}))
	limited := startSfsim(t, bin, slices.Concat(common, []string{"--api-max", strconv.Itoa(limitedAPIMax)}))
	expiring := startSfsim(t, bin, slices.Concat(common, []string{"--session-ttl", sessionTTL.String()}))

	files, err := filepath.Glob(filepath.Join("jsforce", "*.test.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no node test files in jsforce/ (%v)", err)
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	args := []string{"--test", "--test-reporter=spec"}
	if nodeAtLeast(t, node, 20, 10) {
		// The files run in parallel: they mostly wait on sfsim, and none depends on
		// another's writes (each uses its own users, or its own sfsim). Older nodes lack
		// the flag and keep their default.
		args = append(args, "--test-concurrency="+strconv.Itoa(len(files)))
	}
	args = append(args, files...)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = "jsforce"
	// node runs each file in a child process that shares our output pipe: on timeout,
	// kill the whole process group so that the pipe closes and the test ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Env = append(os.Environ(),
		"SFSIM_URL="+seeded,
		"SFSIM_CLIENT_ID="+clientID,
		"SFSIM_CLIENT_SECRET="+clientSecret,
		"SFSIM_USERNAME="+integrationID,
		"SFSIM_JWT_KEY="+keyPath,
		"SFSIM_API_MAX="+strconv.Itoa(apiMax),
		"SFSIM_SEEDED_USERS="+strconv.Itoa(seededUsers),
		"SFSIM_LIMITED_URL="+limited,
		"SFSIM_LIMITED_API_MAX="+strconv.Itoa(limitedAPIMax),
		"SFSIM_EXPIRING_URL="+expiring,
		"SFSIM_SESSION_TTL_MS="+strconv.FormatInt(sessionTTL.Milliseconds(), 10),
		"NO_COLOR=1",
	)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for lines.Scan() {
		t.Log(lines.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node --test failed (%v): see the output above", err)
	}
}

// requireNode returns the node binary, or ends the test when node or the npm packages
// are missing: a failure in CI, where scripts/test-deps.sh installs them, and a loud
// skip elsewhere.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("jsforce", "node_modules", "jsforce", "package.json"))
	}
	if err == nil {
		return node
	}
	msg := fmt.Sprintf("the jsforce interop test needs node and the npm packages of interop/jsforce (%v); "+
		"install them with `make test-deps`", err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(strings.Repeat("!", 78) + "\nSKIPPED: " + msg + "\n" + strings.Repeat("!", 78))
	return ""
}

// nodeAtLeast reports whether node's version is at least major.minor.
func nodeAtLeast(t *testing.T, node string, major, minor int) bool {
	t.Helper()
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	var gotMajor, gotMinor int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "v%d.%d", &gotMajor, &gotMinor); err != nil {
		t.Fatalf("node --version answered %q: %v", out, err)
	}
	return gotMajor > major || gotMajor == major && gotMinor >= minor
}

// buildSfsim builds cmd/sfsim into dir. The binary is built without the race detector,
// whatever the test's flags: the node side is the subject here, and sfsim's own tests
// run it under -race.
func buildSfsim(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build cmd/sfsim: %v", err)
	}
	bin := filepath.Join(dir, "sfsim")
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/syncd-io/syncd/cmd/sfsim")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/sfsim: %v\n%s", err, out)
	}
	return bin
}

// writeJWTKeyPair writes an RSA private key (PKCS#8 PEM) for the node side to sign JWT
// assertions with, and a self-signed X.509 certificate of its public key for sfsim.
func writeJWTKeyPair(t *testing.T, dir string) (keyPath, certPath string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "syncd interop connected app"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPath = filepath.Join(dir, "jwt-key.pem")
	certPath = filepath.Join(dir, "jwt-cert.pem")
	writePEM(t, keyPath, "PRIVATE KEY", pkcs8)
	writePEM(t, certPath, "CERTIFICATE", der)
	return keyPath, certPath
}

func writePEM(t *testing.T, path, blockType string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The parts of sfsim's seed format (internal/sfsim/seed.go) the node tests rely on.
type (
	seedDoc struct {
		Licenses       []seedLicense       `json:"licenses"`
		Profiles       []seedProfile       `json:"profiles"`
		Roles          []seedRole          `json:"roles"`
		PermissionSets []seedPermissionSet `json:"permissionSets"`
		Entitlements   seedEntitlements    `json:"entitlements"`
		Users          []seedUser          `json:"users"`
		TakenUsernames []string            `json:"takenUsernames"`
	}
	// seedPermissionSet and seedEntitlements give entitlements.test.js its objects.
	seedPermissionSet struct {
		Name                 string `json:"name"`
		License              string `json:"license,omitempty"`
		PermissionSetLicense string `json:"permissionSetLicense,omitempty"`
	}
	seedEntitlements struct {
		PermissionSetLicenses []seedLicense `json:"permissionSetLicenses"`
		PermissionSetGroups   []string      `json:"permissionSetGroups"`
		Groups                []seedGroup   `json:"groups"`
	}
	seedGroup struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	seedLicense struct {
		Name  string `json:"name"`
		Seats int    `json:"seats"`
	}
	seedProfile struct {
		Name    string `json:"name"`
		License string `json:"license"`
	}
	seedRole struct {
		Name string `json:"name"`
	}
	seedUser struct {
		Username             string   `json:"Username"`
		FirstName            string   `json:"FirstName,omitempty"`
		LastName             string   `json:"LastName"`
		Profile              string   `json:"Profile"`
		Role                 string   `json:"Role,omitempty"`
		FederationIdentifier string   `json:"FederationIdentifier,omitempty"`
		Blockers             []string `json:"Blockers,omitempty"`
		PermissionSets       []string `json:"PermissionSets,omitempty"`
	}
)

// writeSeed writes the seed of the main org: seededUsers Standard Users named as
// jsforce/lib.js expects (seedUsername, seedFederationId, seedHasRole; the tenth has
// the permission set Sales_Ops), enough
// Salesforce license seats for them and the users the tests create, and the fixtures
// sobjects.test.js names: a license with one seat and a profile on it, two users
// sharing a FederationIdentifier, a user who cannot be deactivated, and a username
// taken in another org.
func writeSeed(t *testing.T, dir string) string {
	t.Helper()
	const role = "Interop Engineering"
	doc := seedDoc{
		Licenses: []seedLicense{
			{Name: "Salesforce", Seats: seededUsers + 1000},
			{Name: "Interop One Seat", Seats: 1},
		},
		Profiles: []seedProfile{{Name: "Interop One Seat User", License: "Interop One Seat"}},
		Roles:    []seedRole{{Name: role}},
		PermissionSets: []seedPermissionSet{
			{Name: "Interop_Licensed", PermissionSetLicense: "Interop_PSL"},
			{Name: "Interop_Platform", License: "Salesforce Platform"},
			{Name: "Interop_Plain"},
		},
		Entitlements: seedEntitlements{
			PermissionSetLicenses: []seedLicense{{Name: "Interop_PSL", Seats: 1}},
			PermissionSetGroups:   []string{"Interop_Bundle"},
			Groups:                []seedGroup{{Name: "Interop_Group", Type: "Regular"}, {Name: "Interop_Queue", Type: "Queue"}},
		},
		Users: []seedUser{
			{Username: "twin.a@interop.example", LastName: "Twin A", Profile: "Standard User", FederationIdentifier: "fed-twin"},
			{Username: "twin.b@interop.example", LastName: "Twin B", Profile: "Standard User", FederationIdentifier: "fed-twin"},
			{Username: "case.owner@interop.example", LastName: "Case Owner", Profile: "Standard User", Blockers: []string{"the default owner of cases"}},
		},
		TakenUsernames: []string{"taken@elsewhere.example"},
	}
	for i := 1; i <= seededUsers; i++ {
		u := seedUser{
			Username:             fmt.Sprintf("seed.%04d@interop.example", i),
			FirstName:            "Ada",
			LastName:             fmt.Sprintf("Seed %04d", i),
			Profile:              "Standard User",
			FederationIdentifier: fmt.Sprintf("seed-%04d", i),
		}
		if i%5 == 0 {
			u.Role = role
		}
		if i == 10 {
			u.PermissionSets = []string{"Sales_Ops"} // a permission set of the fresh org
		}
		doc.Users = append(doc.Users, u)
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "seed.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startSfsim starts the sfsim binary with args and returns the base URL it prints on
// its first stdout line. It stops the process with SIGTERM when the test ends, expects
// a clean exit, and logs sfsim's output if the test failed.
func startSfsim(t *testing.T, bin string, args []string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var logs lockedBuffer
	cmd.Stderr = &logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sfsim: %v", err)
	}
	exited := make(chan error, 1)
	firstLine := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		firstLine <- strings.TrimSpace(line)
		_, _ = io.Copy(&logs, r)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("sfsim %v did not exit cleanly on SIGTERM: %v", args, err)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("sfsim %v did not stop within 10s of SIGTERM", args)
		}
		if t.Failed() {
			t.Logf("sfsim %v output:\n%s", args, logs.String())
		}
	})

	select {
	case line := <-firstLine:
		u, err := url.Parse(line)
		if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			t.Fatalf("sfsim %v: first stdout line %q is not a base URL (%v)\n%s", args, line, err, logs.String())
		}
		return strings.TrimSuffix(line, "/")
	case <-time.After(30 * time.Second):
		t.Fatalf("sfsim %v printed no URL within 30s\n%s", args, logs.String())
		return ""
	}
}

// lockedBuffer collects a process's output from two goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
