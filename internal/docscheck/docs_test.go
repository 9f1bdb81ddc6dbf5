package docscheck

import (
	"path/filepath"
	"testing"
)

// pending are blocks of pages owned elsewhere that do not follow the rules
// yet (they need a <!-- go: --> or <!-- listing: --> comment, or a fix),
// by page and first line. Their problems are logged, not failed; a pending
// block without problems fails the test, so that it leaves the list.
var pending = map[string][]string{}

// TestDocs checks README.md and docs/*.md.
func TestDocs(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"README.md"}
	for _, p := range pages {
		files = append(files, "docs/"+filepath.Base(p))
	}
	problems, err := Check(root, files)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[2]string]bool{}
	for _, p := range problems {
		if isPending(p.File, p.Block) {
			seen[[2]string{p.File, p.Block}] = true
			t.Logf("pending: %s", p)
			continue
		}
		t.Error(p)
	}
	for file, blocks := range pending {
		for _, b := range blocks {
			if !seen[[2]string{file, b}] {
				t.Errorf("%s: the pending block %q passes (or is gone): remove it from pending", file, b)
			}
		}
	}
}

func isPending(file, block string) bool {
	for _, b := range pending[file] {
		if block != "" && b == block {
			return true
		}
	}
	return false
}
