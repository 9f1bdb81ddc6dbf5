package docscheck

import (
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// checkExample checks that block b is the body of the example its marker
// names ("api.ExampleWarp_Lock": directory api, function ExampleWarp_Lock),
// token for token, comments and line breaks aside.
func (c *checker) checkExample(at pos, b block) {
	ref := b.markers["example"]
	i := strings.LastIndex(ref, ".")
	if i < 0 {
		c.errorf(at, "example: %q is not dir.ExampleName", ref)
		return
	}
	dir, name := ref[:i], ref[i+1:]
	body, where := c.exampleBody(dir, name)
	if where == "" {
		c.errorf(at, "example: no func %s in %s/*_test.go", name, dir)
		return
	}
	want, got := goTokens(body), goTokens(b.text)
	for j := range max(len(want), len(got)) {
		switch {
		case j >= len(got):
			c.errorf(pos{at.file, at.line + len(strings.Split(b.text, "\n")) - 1}, "example: the block ends before %s does (%s: %s)", ref, want[j].pos(where), want[j].text)
		case j >= len(want):
			c.errorf(pos{at.file, at.line + got[j].line - 1}, "example: %q is past the end of %s", got[j].text, ref)
		case want[j].text != got[j].text:
			c.errorf(pos{at.file, at.line + got[j].line - 1}, "example: %q differs from %s, which has %q (%s)", got[j].text, ref, want[j].text, want[j].pos(where))
		default:
			continue
		}
		return
	}
}

// exampleBody returns the source of the body of func name in dir's test
// files, and where it starts ("dir/file.go:line"), or "" if there is none.
func (c *checker) exampleBody(dir, name string) (string, string) {
	files, _ := filepath.Glob(filepath.Join(c.abs(dir), "*_test.go"))
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == name && fd.Body != nil {
				open := fset.Position(fd.Body.Lbrace)
				body := string(src[open.Offset+1 : fset.Position(fd.Body.Rbrace).Offset])
				return body, path.Join(dir, filepath.Base(file)) + ":" + strconv.Itoa(open.Line-1)
			}
		}
	}
	return "", ""
}

type goToken struct {
	text string
	line int // 1-based, in its source
}

// pos is where t is, given where its source's first line is ("f.go:n"
// for line n+1).
func (t goToken) pos(where string) string {
	file, line, _ := strings.Cut(where, ":")
	n, _ := strconv.Atoi(line)
	return file + ":" + strconv.Itoa(n+t.line)
}

// goTokens returns src's tokens, without comments and semicolons.
func goTokens(src string) []goToken {
	var s scanner.Scanner
	fset := token.NewFileSet()
	s.Init(fset.AddFile("", -1, len(src)), []byte(src), nil, 0)
	var out []goToken
	for {
		p, tok, lit := s.Scan()
		if tok == token.EOF {
			return out
		}
		if tok == token.SEMICOLON {
			continue
		}
		text := lit
		if text == "" {
			text = tok.String()
		}
		out = append(out, goToken{text, fset.Position(p).Line})
	}
}
