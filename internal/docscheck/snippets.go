package docscheck

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"sort"
	"strings"
)

// fragment is a go block turned into a file to type-check.
type fragment struct {
	at      pos
	src     string
	first   int // line of src holding the block's first line
	imports map[string]bool
}

// checkBlocks checks every go block of pages.
func (c *checker) checkBlocks(pages []*page) error {
	var frags []*fragment
	type listing struct {
		at   pos
		b    block
		path string
	}
	var listings []listing
	need := map[string]bool{}
	for _, p := range pages {
		for _, b := range p.blocks {
			if b.lang != "go" {
				continue
			}
			at := pos{p.path, b.line}
			switch {
			case b.markers["example"] != "":
				c.checkExample(at, b)
			case b.markers["listing"] != "":
				path, ok := c.code.byDir[b.markers["listing"]]
				if !ok {
					c.errorf(at, "listing: %s is not a package of the module", b.markers["listing"])
					continue
				}
				listings = append(listings, listing{at, b, path})
				need[path] = true
			default:
				f, err := c.fragment(at, b)
				if err != nil {
					c.errorf(err.at, "%s", err.msg)
					continue
				}
				frags = append(frags, f)
				for path := range f.imports {
					need[path] = true
				}
			}
		}
	}
	paths := make([]string, 0, len(need))
	for path := range need {
		paths = append(paths, path)
	}
	if err := c.code.load(paths); err != nil {
		return err
	}
	for _, l := range listings {
		c.checkListing(l.at, l.b, l.path)
	}
	for _, f := range frags {
		c.typecheck(f)
	}
	return nil
}

// fragment wraps block b into a file: as it is if it has a package clause;
// else after the declarations of its <!-- go: --> marker, as declarations
// if it parses as such, or as the body of a function.
func (c *checker) fragment(at pos, b block) (*fragment, *placed) {
	fset := token.NewFileSet()
	if f, err := parser.ParseFile(fset, "", b.text, parser.ImportsOnly); err == nil {
		imports := map[string]bool{}
		for _, spec := range f.Imports {
			imports[strings.Trim(spec.Path.Value, "`\"")] = true
		}
		return &fragment{at: at, src: b.text, first: 1, imports: imports}, nil
	}
	decls := b.markers["go"]
	head := "package snippet\n\n" + decls + "\n"
	body := b.text
	stmts := false
	if _, err := parser.ParseFile(fset, "", head+body, 0); err != nil {
		stmts = true
		head += "var ctx context.Context\n\nfunc _() error {\n"
		body += "\nreturn nil\n}\n"
	}
	f, err := parser.ParseFile(fset, "", head+body, parser.SkipObjectResolution)
	if err != nil {
		line, msg := firstError(err)
		if first := strings.Count(head, "\n") + 1; line >= first {
			at.line += line - first
		}
		return nil, &placed{at, fmt.Sprintf("not Go: %s (an API listing needs <!-- listing: dir -->; other text, another language tag)", msg)}
	}
	imports := c.importsOf(f)
	if stmts {
		imports["context"] = true
	}
	var imp strings.Builder
	for _, path := range sortedKeys(imports) {
		fmt.Fprintf(&imp, "import %s %q\n", c.nameOf(path), path)
	}
	head = strings.Replace(head, "\n", "\n"+imp.String(), 1)
	return &fragment{at: at, src: head + body, first: strings.Count(head, "\n") + 1, imports: imports}, nil
}

// importsOf returns the import paths of the package names that f uses as
// the left side of a selector.
func (c *checker) importsOf(f *ast.File) map[string]bool {
	out := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				if path, ok := c.code.byName[id.Name]; ok {
					out[path] = true
				}
			}
		}
		return true
	})
	return out
}

func (c *checker) nameOf(path string) string {
	for name, p := range c.code.byName {
		if p == path {
			return name
		}
	}
	return path[strings.LastIndex(path, "/")+1:]
}

// typecheck type-checks f and reports its hard errors at their lines in the
// page; unused variables and imports are soft errors, and allowed.
func (c *checker) typecheck(f *fragment) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, f.at.file, f.src, parser.SkipObjectResolution)
	if err != nil {
		line, msg := firstError(err)
		c.errorf(pos{f.at.file, f.at.line + line - f.first}, "not Go: %s", msg)
		return
	}
	conf := types.Config{Importer: c.code.imp, GoVersion: "go1.26", Error: func(err error) {
		var te types.Error
		if !errors.As(err, &te) || te.Soft {
			return
		}
		at := f.at
		if line := te.Fset.Position(te.Pos).Line; line >= f.first {
			at.line += line - f.first
		} else {
			te.Msg = "in the <!-- go: --> declarations: " + te.Msg
		}
		c.errorf(at, "%s", te.Msg)
	}}
	_, _ = conf.Check("snippet", fset, []*ast.File{file}, nil)
}

// firstError returns the line and message of a parse error's first error.
func firstError(err error) (int, string) {
	var list scanner.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		return list[0].Pos.Line, list[0].Msg
	}
	return 0, err.Error()
}

// placed is an error that belongs at a line of a page.
type placed struct {
	at  pos
	msg string
}

func (p *placed) Error() string { return p.msg }

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
