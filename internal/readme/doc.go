// Package readme holds the test that the quick start of the repository's
// README.md builds as written: the program in the first Go code block of
// its "Use it" section, in a module of its own that requires this one
// (replaced by the working tree). It has no code of its own.
package readme
