package readme

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// quickStart returns the Go code block that follows the heading section
// of readme, and whether it has one.
func quickStart(readme, section string) (string, bool) {
	_, rest, ok := strings.Cut(readme, "\n## "+section+"\n")
	if !ok {
		return "", false
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	_, code, ok := strings.Cut(rest, "\n```go\n")
	if !ok {
		return "", false
	}
	code, _, ok = strings.Cut(code, "\n```")
	return code + "\n", ok
}

func TestQuickStart(t *testing.T) {
	for _, tt := range []struct {
		name, readme, want string
		ok                 bool
	}{
		{"found", "# x\n\n## Use it\n\n```sh\ngo get m\n```\n\n```go\npackage main\n```\n\n```go\nsecond\n```\n", "package main\n", true},
		{"not in the section", "## Use it\n\ntext\n\n## Other\n\n```go\npackage main\n```\n", "", false},
		{"no section", "```go\npackage main\n```\n", "", false},
		{"unterminated", "## Use it\n\n```go\npackage main\n", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := quickStart(tt.readme, "Use it")
			if ok != tt.ok || ok && got != tt.want {
				t.Errorf("quickStart = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestREADMEQuickStartBuilds writes the quick start into a module of its
// own, next to a go.mod that requires this module from the working tree,
// and builds it with the go command, offline: every module it needs comes
// from the local module cache (this module's go.sum names them all).
func TestREADMEQuickStartBuilds(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "\ngo get github.com/portcullis-go/portcullis\n") {
		t.Error("README.md does not show `go get github.com/portcullis-go/portcullis`")
	}
	code, ok := quickStart(string(readme), "Use it")
	if !ok {
		t.Fatal(`README.md has no Go code block in its "Use it" section`)
	}
	if !strings.HasPrefix(code, "package main\n") {
		t.Fatalf("the quick start is not a whole program: it starts with %q", strings.SplitN(code, "\n", 2)[0])
	}

	// go test puts its own toolchain's bin first on PATH.
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not available (%v): cannot build the README's quick start", err)
	}

	dir := t.TempDir()
	gomod := "module readmequickstart\n\ngo 1.25.0\n\n" +
		"require github.com/portcullis-go/portcullis v0.0.0\n\n" +
		"replace github.com/portcullis-go/portcullis => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": []byte(code)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command(goCmd, "build", "-o", filepath.Join(dir, "quickstart"), ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GOFLAGS=-mod=mod -buildvcs=false", // fill in the indirect requirements
		"GOPROXY=off",                      // offline: the module cache only
		"GOTOOLCHAIN=local",                // never fetch another Go
		"GOWORK=off",
	)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		t.Fatalf("the README's quick start does not build:\n%s\n--- main.go\n%s", out, code)
	case err != nil:
		t.Fatalf("go build: %v\n%s", err, out)
	}
}
