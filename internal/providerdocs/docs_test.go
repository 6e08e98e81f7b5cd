package providerdocs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// goBlocks returns the Go code blocks of a Markdown page, in order.
func goBlocks(page string) []string {
	var blocks []string
	rest := page
	for {
		_, after, ok := strings.Cut(rest, "\n```go\n")
		if !ok {
			return blocks
		}
		code, tail, ok := strings.Cut(after, "\n```")
		if !ok {
			return blocks
		}
		blocks = append(blocks, code+"\n")
		rest = tail
	}
}

func TestGoBlocks(t *testing.T) {
	for _, tt := range []struct {
		name, page string
		want       []string
	}{
		{"two", "# x\n\n```go\nimport \"a\"\n```\n\n```sh\nls\n```\n\n```go\nvar b = 1\n```\n", []string{"import \"a\"\n", "var b = 1\n"}},
		{"none", "# x\n\n```sh\nls\n```\n", nil},
		{"unterminated", "```go\nx\n", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := goBlocks("\n" + tt.page); !slices.Equal(got, tt.want) {
				t.Errorf("goBlocks = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestProviderPagesBuild builds every Go block of docs/providers/*.md, one
// package per block, with the go command, offline: every module it needs
// comes from the local module cache (this module's go.sum names them all).
// A block that starts with a package clause is built as it is.
func TestProviderPagesBuild(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	pages, err := filepath.Glob(filepath.Join(root, "docs", "providers", "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no pages in docs/providers (%v)", err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not available (%v): cannot build the pages' configurations", err)
	}
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	gomod := "module providerdocs\n\ngo 1.25.0\n\n" +
		"require github.com/portcullis-go/portcullis v0.0.0\n\n" +
		"replace github.com/portcullis-go/portcullis => " + root + "\n"
	files := map[string]string{"go.mod": gomod, "go.sum": string(sum)}
	built := 0
	for _, page := range pages {
		name := strings.TrimSuffix(filepath.Base(page), ".md")
		text, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		blocks := goBlocks("\n" + string(text))
		pkg := strings.Map(func(r rune) rune {
			if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
				return r
			}
			return -1
		}, strings.ToLower(name))
		for i, b := range blocks {
			// A whole file (a program, say) is built as it is.
			if !strings.HasPrefix(b, "package ") {
				b = "package " + pkg + "\n\n" + b
			}
			files[filepath.Join(fmt.Sprintf("%s%d", pkg, i), "block.go")] = b
			built++
		}
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(goCmd, "vet", "./...")
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
		t.Fatalf("a page's Go configuration does not build:\n%s", out)
	case err != nil:
		t.Fatalf("go vet: %v\n%s", err, out)
	}
	if built < 6 {
		t.Errorf("only %d Go blocks found in docs/providers: is the extraction looking?", built)
	}
	t.Logf("%d blocks of %d pages built", built, len(pages))
}
