package channels

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
)

// MissingCredential is Verify's answer to a webhook that carries no
// signature or secret header at all: 401, so the provider (or a scanner)
// learns that credentials are expected.
func MissingCredential(detail string) *Error {
	return &Error{Class: ClassPermanent, Code: "webhook_unauthenticated", Detail: detail, HTTPStatus: http.StatusUnauthorized}
}

// BadCredential is Verify's answer to a webhook whose signature or secret
// does not match: 403.
func BadCredential(detail string) *Error {
	return &Error{Class: ClassPermanent, Code: "webhook_forbidden", Detail: detail, HTTPStatus: http.StatusForbidden}
}

// SecretEqual compares two secrets in constant time. Both are hashed first
// so that not even the length of the expected secret leaks through timing.
func SecretEqual(got, want string) bool {
	a := sha256.Sum256([]byte(got))
	b := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
