package contacts

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// FieldErrors maps a field name (a contacts or contact_identities column,
// or a request field) to what is wrong with it. The hooks turn it into a
// 400 whose data names each field.
type FieldErrors map[string]string

// Add records msg for field unless the field already has an error.
func (fe FieldErrors) Add(field, msg string) {
	if _, ok := fe[field]; !ok {
		fe[field] = msg
	}
}

// Err returns fe as an error, or nil when it is empty.
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// Fields returns the field names, sorted.
func (fe FieldErrors) Fields() []string {
	out := make([]string, 0, len(fe))
	for k := range fe {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (fe FieldErrors) Error() string {
	parts := make([]string, 0, len(fe))
	for _, k := range fe.Fields() {
		parts = append(parts, fe[k])
	}
	return strings.Join(parts, "; ")
}

// NotFoundError says which record of a request does not exist.
type NotFoundError struct {
	What string // "contact", "survivor", "other"...
	ID   string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %q does not exist", e.What, e.ID)
}

// IsNotFound reports whether err is (or wraps) a *NotFoundError.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}
