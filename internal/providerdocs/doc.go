// Package providerdocs holds the test that the Go configuration of every
// page in docs/providers/ builds as written: each Go code block is a Go
// file without its package clause (imports, then declarations), built as
// a package of its own in a module that requires this one (replaced by
// the working tree), offline. It has no code of its own.
package providerdocs
