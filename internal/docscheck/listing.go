package docscheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
)

// checkListing checks an API listing (declarations without bodies) against
// the package at path: every name exists, with the listed fields, methods,
// and parameter and result types.
func (c *checker) checkListing(at pos, b block, path string) {
	pkg, err := c.code.imp.Import(path)
	if err != nil {
		c.errorf(at, "listing: %v", err)
		return
	}
	fset := token.NewFileSet()
	const head = "package listing\n"
	f, err := parser.ParseFile(fset, "", head+b.text, parser.SkipObjectResolution)
	if err != nil {
		line, msg := firstError(err)
		c.errorf(pos{at.file, at.line + line - 2}, "listing: not Go declarations: %s", msg)
		return
	}
	l := &lister{c: c, pkg: pkg, q: qualifier(pkg), fset: fset, at: at}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			l.checkFunc(d)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					l.checkType(s)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						l.lookup(n, d.Tok.String())
					}
				}
			}
		}
	}
}

type lister struct {
	c    *checker
	pkg  *types.Package
	q    types.Qualifier
	fset *token.FileSet
	at   pos
}

func (l *lister) errorf(n ast.Node, format string, args ...any) {
	l.c.errorf(pos{l.at.file, l.at.line + l.fset.Position(n.Pos()).Line - 2}, "listing %s: "+format, append([]any{l.pkg.Path()}, args...)...)
}

// lookup returns the package's object named n, reporting a missing one.
func (l *lister) lookup(n *ast.Ident, kind string) types.Object {
	obj := l.pkg.Scope().Lookup(n.Name)
	if obj == nil || !obj.Exported() {
		l.errorf(n, "no %s %s", kind, n.Name)
		return nil
	}
	return obj
}

func (l *lister) checkFunc(d *ast.FuncDecl) {
	if d.Body != nil {
		l.errorf(d, "func %s has a body; a listing has declarations only", d.Name.Name)
	}
	if d.Recv == nil {
		if fn, ok := l.lookup(d.Name, "func").(*types.Func); ok {
			l.compare(d.Name, fn.Name(), d.Type, fn.Type().(*types.Signature))
		}
		return
	}
	recv := d.Recv.List[0].Type
	for {
		switch r := recv.(type) {
		case *ast.StarExpr:
			recv = r.X
			continue
		case *ast.IndexExpr:
			recv = r.X
			continue
		case *ast.IndexListExpr:
			recv = r.X
			continue
		}
		break
	}
	id, ok := recv.(*ast.Ident)
	if !ok {
		l.errorf(d, "cannot read the receiver of %s", d.Name.Name)
		return
	}
	tn, ok := l.lookup(id, "type").(*types.TypeName)
	if !ok {
		return
	}
	m, _, _ := types.LookupFieldOrMethod(types.NewPointer(tn.Type()), false, l.pkg, d.Name.Name)
	fn, ok := m.(*types.Func)
	if !ok {
		l.errorf(d.Name, "type %s has no method %s", id.Name, d.Name.Name)
		return
	}
	l.compare(d.Name, id.Name+"."+fn.Name(), d.Type, fn.Type().(*types.Signature))
}

func (l *lister) checkType(s *ast.TypeSpec) {
	tn, ok := l.lookup(s.Name, "type").(*types.TypeName)
	if !ok {
		return
	}
	switch t := s.Type.(type) {
	case *ast.StructType:
		st, ok := tn.Type().Underlying().(*types.Struct)
		if !ok {
			l.errorf(s.Name, "%s is not a struct", s.Name.Name)
			return
		}
		for _, field := range t.Fields.List {
			want := types.ExprString(field.Type)
			for _, n := range field.Names {
				l.checkField(n, st, want)
			}
		}
	case *ast.InterfaceType:
		it, ok := tn.Type().Underlying().(*types.Interface)
		if !ok {
			l.errorf(s.Name, "%s is not an interface", s.Name.Name)
			return
		}
		for _, m := range t.Methods.List {
			ft, ok := m.Type.(*ast.FuncType)
			if !ok || len(m.Names) != 1 {
				continue
			}
			fn := methodOf(it, m.Names[0].Name)
			if fn == nil {
				l.errorf(m, "interface %s has no method %s", s.Name.Name, m.Names[0].Name)
				continue
			}
			l.compare(m, s.Name.Name+"."+fn.Name(), ft, fn.Type().(*types.Signature))
		}
	}
}

func (l *lister) checkField(n *ast.Ident, st *types.Struct, want string) {
	for i := range st.NumFields() {
		if f := st.Field(i); f.Name() == n.Name {
			if got := types.TypeString(f.Type(), l.q); got != want {
				l.errorf(n, "field %s is %s, listed as %s", n.Name, got, want)
			}
			return
		}
	}
	l.errorf(n, "no field %s", n.Name)
}

func methodOf(it *types.Interface, name string) *types.Func {
	for i := range it.NumMethods() {
		if m := it.Method(i); m.Name() == name {
			return m
		}
	}
	return nil
}

// compare reports a listed signature whose parameter or result types
// differ from sig's.
func (l *lister) compare(n ast.Node, name string, ft *ast.FuncType, sig *types.Signature) {
	listedIn, listedOut := fieldTypes(ft.Params), fieldTypes(ft.Results)
	in, out := tupleTypes(sig.Params(), sig.Variadic(), l.q), tupleTypes(sig.Results(), false, l.q)
	if strings.Join(listedIn, ", ") != strings.Join(in, ", ") || strings.Join(listedOut, ", ") != strings.Join(out, ", ") {
		l.errorf(n, "%s is listed as (%s) (%s); the code has (%s) (%s)", name,
			strings.Join(listedIn, ", "), strings.Join(listedOut, ", "), strings.Join(in, ", "), strings.Join(out, ", "))
	}
}

func fieldTypes(fl *ast.FieldList) []string {
	var out []string
	if fl == nil {
		return out
	}
	for _, f := range fl.List {
		t := types.ExprString(f.Type)
		for range max(1, len(f.Names)) {
			out = append(out, t)
		}
	}
	return out
}

func tupleTypes(t *types.Tuple, variadic bool, q types.Qualifier) []string {
	var out []string
	for i := range t.Len() {
		typ := t.At(i).Type()
		if variadic && i == t.Len()-1 {
			out = append(out, "..."+types.TypeString(typ.(*types.Slice).Elem(), q))
			continue
		}
		out = append(out, types.TypeString(typ, q))
	}
	return out
}
