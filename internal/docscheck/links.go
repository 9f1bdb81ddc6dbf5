package docscheck

import (
	"os"
	"path"
	"regexp"
	"strings"
)

var (
	// linkRE matches [text](target "title") and ![alt](target).
	linkRE = regexp.MustCompile(`!?\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	// refDefRE matches a reference definition: [label]: target
	refDefRE    = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?`)
	codeRE      = regexp.MustCompile("`+([^`]+)`+")
	mdWordRE    = regexp.MustCompile(`[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b`)
	separatorRE = regexp.MustCompile(`^\s*\|?\s*:?-{3,}`)
	pathRE      = regexp.MustCompile(`^\.?/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?$`)
)

// checkLinks reports the broken links and file references of p's prose.
func (c *checker) checkLinks(p *page) {
	for i, line := range p.lines {
		if !p.prose[i] {
			continue
		}
		at := pos{p.path, i + 1}
		for _, m := range refDefRE.FindAllStringSubmatch(line, -1) {
			c.checkTarget(p, at, m[1])
		}
		for _, m := range codeRE.FindAllStringSubmatch(line, -1) {
			c.checkCodePath(p, at, m[1])
		}
		text := codeRE.ReplaceAllString(line, "")
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			c.checkTarget(p, at, m[2])
		}
		for _, w := range mdWordRE.FindAllString(linkRE.ReplaceAllString(text, ""), -1) {
			c.checkMarkdownName(p, at, w)
		}
	}
}

// checkTables reports a blank line inside a table: the rows after it are
// no table any more (they have no header row), but a paragraph of pipes.
func (c *checker) checkTables(p *page) {
	row := func(i int) bool {
		return i >= 0 && i < len(p.lines) && p.prose[i] && strings.HasPrefix(strings.TrimSpace(p.lines[i]), "|")
	}
	for i := 2; i < len(p.lines); i++ {
		header := i+1 < len(p.lines) && separatorRE.MatchString(p.lines[i+1])
		if row(i) && strings.TrimSpace(p.lines[i-1]) == "" && row(i-2) && !header {
			c.errorf(pos{p.path, i}, "a blank line splits the table: the rows below it are not part of it")
		}
	}
}

// checkTarget checks a link's target: a file of the repository, and a
// heading of it for an anchor.
func (c *checker) checkTarget(p *page, at pos, target string) {
	if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
		return
	}
	file, anchor, _ := strings.Cut(target, "#")
	rel := p.path
	if file != "" {
		rel = path.Clean(path.Join(path.Dir(p.path), file))
		if !c.exists(rel) {
			c.errorf(at, "link to %s: no such file in the repository", target)
			return
		}
	}
	if anchor == "" {
		return
	}
	if !strings.HasSuffix(rel, ".md") {
		c.errorf(at, "link to %s: an anchor needs a Markdown page", target)
		return
	}
	if q := c.page(rel); q != nil && !q.slugs[anchor] {
		c.errorf(at, "link to %s: %s has no heading #%s", target, rel, anchor)
	}
}

// checkCodePath checks a code span that looks like a path of the
// repository: its first element is an entry of the root.
func (c *checker) checkCodePath(p *page, at pos, span string) {
	span = strings.TrimSpace(span)
	if !pathRE.MatchString(span) || !strings.Contains(strings.Trim(span, "/"), "/") {
		return
	}
	rel := path.Clean(strings.TrimPrefix(span, "./"))
	first, _, _ := strings.Cut(rel, "/")
	if !c.exists(first) || first == "." || first == ".." {
		return
	}
	if c.exists(rel) {
		return
	}
	// A package's identifier: `messages/wire.Envelope`.
	if dir, _, ok := strings.Cut(rel, "."); ok && strings.Contains(path.Base(rel), ".") && isDir(c.abs(dir)) {
		return
	}
	c.errorf(at, "`%s`: no such file or directory in the repository", span)
}

// checkMarkdownName checks a word ending in .md: a page beside p or at a
// path from the root.
func (c *checker) checkMarkdownName(p *page, at pos, name string) {
	if c.exists(path.Join(path.Dir(p.path), name)) || c.exists(path.Clean(name)) {
		return
	}
	c.errorf(at, "%s: no such page in the repository", name)
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func (c *checker) exists(rel string) bool {
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return false
	}
	_, err := os.Stat(c.abs(rel))
	return err == nil
}
