// Package e2e holds end-to-end tests: the real pregon binary, real HTTP, the
// providers' fakes. The tests are in _test.go files; see harness_test.go.
package e2e
