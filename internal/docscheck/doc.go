// Package docscheck checks the repository's Markdown documentation against
// the repository and the code: `make test` runs it (TestDocs) over
// README.md and docs/*.md.
//
// # Links and file references
//
// Every relative link ([text](path), [text](path#anchor), [text](#anchor))
// must name a file or directory of the repository, and an anchor must be
// the slug of a heading of the target page (GitHub's rule: lower case,
// punctuation dropped, spaces to hyphens, -1, -2… for repeats). A word
// ending in .md must name a page of the repository (beside the page or
// from the root), and a code span that looks like a repository path
// (`api/errors.go`, `bus/natslock`: no spaces, its first element an entry
// of the root) must exist.
//
// # Go blocks
//
// Every ```go block is one of:
//
//   - a complete file (it starts with a package clause): it must
//     type-check against the module;
//   - a runnable example: an HTML comment <!-- example: api.ExampleWarp_Lock -->
//     (directory, a dot, the function) right above the block; the block's
//     code must be the example's body, token for token, comments aside. go
//     test runs the example and checks its output;
//   - an API listing: <!-- listing: bus/natslock --> above a block of
//     declarations without bodies; every name must exist in that package,
//     struct fields must exist with the listed types, and functions and
//     methods must have the listed parameter and result types;
//   - a fragment: statements (or declarations) that must type-check inside
//     a function, with the imports their package names imply (module
//     packages by name, and a fixed table for others) and the declarations
//     of an optional <!-- go: var w *api.Warp[int]; type User struct{} -->
//     comment; ctx (a context.Context) is always declared. Unused variables
//     and imports are allowed.
//
// Blocks in another language (```sh, ```text) are not checked.
package docscheck
