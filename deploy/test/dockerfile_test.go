package deploytest

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with its arguments, continuation lines
// joined.
type instruction struct {
	Cmd, Args string
}

// parseDockerfile reads the instructions of a Dockerfile, skipping comments and
// joining lines that end in a backslash. It knows no more of the syntax than the
// checks below need.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var pending string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && pending == "") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			pending += cont + " "
			continue
		}
		line = pending + line
		pending = ""
		cmd, args, _ := strings.Cut(line, " ")
		out = append(out, instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDockerfileBuildsAStaticNonRootImage checks the image's required properties: its
// last stage is distroless or scratch, it runs as a numeric non-root user (so that
// Kubernetes' runAsNonRoot can verify it), and the binary is built by
// scripts/build-static.sh, the script `make build-static` and CI's check-static use,
// with cgo off and -trimpath.
func TestDockerfileBuildsAStaticNonRootImage(t *testing.T) {
	ins := parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))
	var lastFrom int
	var stages, user string
	var buildsWithScript, cgoOff bool
	for i, in := range ins {
		switch in.Cmd {
		case "FROM":
			lastFrom, user = i, ""
			stages += in.Args + "\n"
		case "USER":
			user = in.Args
		case "RUN":
			buildsWithScript = buildsWithScript || strings.Contains(in.Args, "./scripts/build-static.sh")
		case "ENV":
			cgoOff = cgoOff || in.Args == "CGO_ENABLED=0"
		}
	}
	base := strings.Fields(ins[lastFrom].Args)[0]
	script, err := os.ReadFile(filepath.Join(repoRoot, "scripts/build-static.sh"))
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	buildLine := regexp.MustCompile(`(?m)^CGO_ENABLED=0 go build -trimpath -ldflags "[^"]*-X main\.version=\$version" `)
	for _, check := range []struct {
		name string
		ok   bool
	}{
		{"the image is multi-stage", strings.Count(stages, "\n") >= 2},
		{"the final stage is distroless or scratch (" + base + ")", base == "scratch" || strings.HasPrefix(base, "gcr.io/distroless/static")},
		{"the final stage runs as a numeric non-root user (" + user + ")", numericNonRoot(user)},
		{"the build stage runs scripts/build-static.sh", buildsWithScript},
		{"the build stage turns cgo off", cgoOff},
		{"build-static.sh builds with CGO_ENABLED=0, -trimpath and the version stamped", buildLine.Match(script)},
		{"make build-static runs build-static.sh", strings.Contains(string(makefile), "./scripts/build-static.sh $(BIN)/static")},
	} {
		if !check.ok {
			t.Errorf("%s: not so", check.name)
		}
	}
}

// numericNonRoot reports whether a USER argument is uid[:gid] with numbers other than 0.
func numericNonRoot(user string) bool {
	if user == "" {
		return false
	}
	for part := range strings.SplitSeq(user, ":") {
		n, err := strconv.Atoi(part)
		if err != nil || n == 0 {
			return false
		}
	}
	return true
}

func TestNumericNonRoot(t *testing.T) {
	for user, want := range map[string]bool{
		"65532:65532": true, "65532": true, "": false, "0": false, "1000:0": false, "nonroot": false, "nonroot:nonroot": false,
	} {
		if got := numericNonRoot(user); got != want {
			t.Errorf("numericNonRoot(%q) = %t, want %t", user, got, want)
		}
	}
}
