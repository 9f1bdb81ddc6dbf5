package docscheck

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Problem is one thing wrong in a page.
type Problem struct {
	File string // slash-separated, relative to the repository root
	Line int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

type pos struct {
	file string
	line int
}

type checker struct {
	root     string
	pages    map[string]*page // by slash path; nil: not a readable page
	problems []Problem
	code     *code
}

// Check checks the Markdown files (slash paths relative to root, the
// module's root directory) and returns their problems, sorted by file and
// line. The error is for a check that could not run.
func Check(root string, files []string) ([]Problem, error) {
	c := &checker{root: root, pages: map[string]*page{}}
	var pages []*page
	for _, f := range files {
		p := c.page(f)
		if p == nil {
			return nil, fmt.Errorf("docscheck: cannot read %s", f)
		}
		pages = append(pages, p)
	}
	for _, p := range pages {
		c.checkLinks(p)
		c.checkTables(p)
	}
	code, err := loadCode(root)
	if err != nil {
		return nil, err
	}
	c.code = code
	if err := c.checkBlocks(pages); err != nil {
		return nil, err
	}
	sort.SliceStable(c.problems, func(i, j int) bool {
		a, b := c.problems[i], c.problems[j]
		return a.File < b.File || a.File == b.File && a.Line < b.Line
	})
	return c.problems, nil
}

// page reads the page at rel once.
func (c *checker) page(rel string) *page {
	if p, ok := c.pages[rel]; ok {
		return p
	}
	src, err := os.ReadFile(c.abs(rel))
	var p *page
	if err == nil {
		p = parsePage(rel, string(src))
	}
	c.pages[rel] = p
	return p
}

func (c *checker) abs(rel string) string { return filepath.Join(c.root, filepath.FromSlash(rel)) }

func (c *checker) errorf(at pos, format string, args ...any) {
	c.problems = append(c.problems, Problem{File: at.file, Line: at.line, Msg: fmt.Sprintf(format, args...)})
}
