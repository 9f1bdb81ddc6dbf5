package docscheck

import (
	"bufio"
	"bytes"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// otherPackages are the packages outside the module that snippets may use
// by these names.
var otherPackages = map[string]string{
	"base64": "encoding/base64", "context": "context", "errors": "errors",
	"fmt": "fmt", "http": "net/http", "json": "encoding/json", "log": "log",
	"os": "os", "slog": "log/slog", "strings": "strings", "sync": "sync",
	"testing": "testing", "time": "time",
	"actor":      "github.com/asynkron/protoactor-go/actor",
	"goredis":    "github.com/redis/go-redis/v9",
	"jetstream":  "github.com/nats-io/nats.go/jetstream",
	"kgo":        "github.com/twmb/franz-go/pkg/kgo",
	"nats":       "github.com/nats-io/nats.go",
	"pgxpool":    "github.com/jackc/pgx/v5/pgxpool",
	"prometheus": "github.com/prometheus/client_golang/prometheus",
	"promhttp":   "github.com/prometheus/client_golang/prometheus/promhttp",
}

// code is what the checks know of the module: its packages by name and
// by directory, and their types, read from the compiler's export data.
type code struct {
	root   string
	byName map[string]string // package name → import path
	byDir  map[string]string // slash directory relative to root → import path
	fset   *token.FileSet
	imp    types.Importer
}

func loadCode(root string) (*code, error) {
	out, err := goCmd(root, "list", "-f", "{{.Name}} {{.ImportPath}} {{.Dir}}", "./...")
	if err != nil {
		return nil, err
	}
	c := &code{root: root, byName: map[string]string{}, byDir: map[string]string{}, fset: token.NewFileSet()}
	for name, path := range otherPackages {
		c.byName[name] = path
	}
	absRoot, _ := goCmd(root, "list", "-m", "-f", "{{.Dir}}")
	prefix := strings.TrimSpace(string(absRoot)) + string(os.PathSeparator)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] == "main" {
			continue
		}
		if _, dup := c.byName[f[0]]; !dup || !strings.Contains(f[1], "/internal/") {
			c.byName[f[0]] = f[1]
		}
		c.byDir[strings.ReplaceAll(strings.TrimPrefix(f[2], prefix), string(os.PathSeparator), "/")] = f[1]
	}
	return c, nil
}

// load compiles (or finds in the build cache) the packages at paths and
// their dependencies, and makes them importable.
func (c *code) load(paths []string) error {
	if len(paths) == 0 {
		c.imp = importer.ForCompiler(c.fset, "gc", nil)
		return nil
	}
	sort.Strings(paths)
	args := append([]string{"list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}"}, paths...)
	out, err := goCmd(c.root, args...)
	if err != nil {
		return err
	}
	exports := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if path, file, ok := strings.Cut(sc.Text(), "\t"); ok && file != "" {
			exports[path] = file
		}
	}
	c.imp = importer.ForCompiler(c.fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("docscheck: no export data for %q", path)
		}
		return os.Open(file)
	})
	return nil
}

func goCmd(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("docscheck: go %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// qualifier prints the names of pkg unqualified and of other packages by
// their name.
func qualifier(pkg *types.Package) types.Qualifier {
	return func(p *types.Package) string {
		if p == pkg {
			return ""
		}
		return p.Name()
	}
}
