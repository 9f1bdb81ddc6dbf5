package docscheck

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// page is one Markdown file, split into fenced blocks and prose.
type page struct {
	path   string // slash-separated, relative to the repository root
	lines  []string
	prose  []bool // prose[i]: line i is outside every fenced block
	blocks []block
	slugs  map[string]bool
}

// block is one fenced code block.
type block struct {
	lang    string
	line    int               // 1-based line of the block's first content line
	text    string            // the content, dedented by the fence's indent
	markers map[string]string // <!-- key: value --> comments right above the fence
}

var (
	fenceRE   = regexp.MustCompile("^( *)(```+|~~~+)\\s*([^\\s`]*)")
	markerRE  = regexp.MustCompile(`^\s*<!--\s*([a-z]+):\s*(.*?)\s*-->\s*$`)
	headingRE = regexp.MustCompile(`^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)
)

func parsePage(path, src string) *page {
	p := &page{path: path, lines: strings.Split(src, "\n"), slugs: map[string]bool{}}
	p.prose = make([]bool, len(p.lines))
	seen := map[string]int{}
	for i := 0; i < len(p.lines); i++ {
		m := fenceRE.FindStringSubmatch(p.lines[i])
		if m == nil {
			p.prose[i] = true
			if h := headingRE.FindStringSubmatch(p.lines[i]); h != nil {
				p.addSlug(slug(h[2]), seen)
			}
			continue
		}
		b := block{lang: m[3], line: i + 2, markers: markersAbove(p.lines, i)}
		indent, fence := len(m[1]), m[2]
		var body []string
		for i++; i < len(p.lines) && !strings.HasPrefix(strings.TrimSpace(p.lines[i]), fence); i++ {
			body = append(body, dedent(p.lines[i], indent))
		}
		b.text = strings.Join(body, "\n")
		p.blocks = append(p.blocks, b)
	}
	return p
}

func (p *page) addSlug(s string, seen map[string]int) {
	n := seen[s]
	seen[s] = n + 1
	if n > 0 {
		s += "-" + strconv.Itoa(n)
	}
	p.slugs[s] = true
}

// markersAbove reads the <!-- key: value --> lines right above line i.
func markersAbove(lines []string, i int) map[string]string {
	m := map[string]string{}
	for j := i - 1; j >= 0; j-- {
		mm := markerRE.FindStringSubmatch(lines[j])
		if mm == nil {
			break
		}
		m[mm[1]] = mm[2]
	}
	return m
}

func dedent(s string, n int) string {
	for range n {
		if !strings.HasPrefix(s, " ") {
			break
		}
		s = s[1:]
	}
	return s
}

// slug is GitHub's anchor for a heading's text.
func slug(heading string) string {
	heading = linkRE.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
