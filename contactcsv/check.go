package contactcsv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/pocketbase/pocketbase/core"

	"pregon/contacts"
	"pregon/csvfile"
)

// Request is what the user asked for, besides the file.
type Request struct {
	Mode       Mode
	Identifier Identifier
	// Tags are added to every imported row (created or updated).
	Tags []string
	// ConsentSource and ConsentWording are recorded as the evidence of
	// opt_in values; defaults: "import:<filename>" and a sentence naming the
	// file (see DefaultWording).
	ConsentSource  string
	ConsentWording string
	Filename       string
}

// ParseRequest validates the form values of an upload.
func ParseRequest(mode, identifier, tags, consentSource, consentWording, filename string) (Request, error) {
	r := Request{Mode: Mode(strings.TrimSpace(mode)), Identifier: Identifier(strings.TrimSpace(identifier)), Filename: filename}
	switch r.Mode {
	case AddUpdate, AddOnly, UpdateOnly:
	case "":
		return r, inputErrorf("mode is required: add_update, add_only or update_only")
	default:
		return r, inputErrorf("mode %q is not one of add_update, add_only, update_only", mode)
	}
	switch r.Identifier {
	case ByID, ByPhone, ByEmail:
	case "":
		return r, inputErrorf("identifier is required: id, phone or email")
	default:
		return r, inputErrorf("identifier %q is not one of id, phone, email", identifier)
	}
	var err error
	if r.Tags, err = contacts.NormalizeTags(contacts.SplitTags(tags)); err != nil {
		return r, inputErrorf("tags: %v", err)
	}
	r.ConsentSource = strings.TrimSpace(consentSource)
	if r.ConsentSource == "" {
		r.ConsentSource = "import:" + filename
	}
	r.ConsentSource = truncate(r.ConsentSource, 200)
	r.ConsentWording = strings.TrimSpace(consentWording)
	if utf8.RuneCountInString(r.ConsentWording) > 2000 {
		return r, inputErrorf("consent_wording is longer than 2000 characters")
	}
	return r, nil
}

// DefaultWording is the consent wording recorded when the form gives none:
// the evidence is the business's own declaration in the file.
func DefaultWording(filename string, in bool) string {
	if in {
		return truncate(fmt.Sprintf("Opt-in declared by the business in the opt_in column of the CSV import %q.", filename), 2000)
	}
	return truncate(fmt.Sprintf("Opt-out declared by the business in the opt_in column of the CSV import %q.", filename), 2000)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// Plan is what Check learned about an uploaded file.
type Plan struct {
	Format csvfile.Format
	Header Header
}

// Check reads the head of an uploaded file and refuses, before anything is
// stored, a file that is empty, not CSV, has no data rows, lacks the
// identifier column or names an undefined custom field.
func Check(app core.App, path string, req Request) (Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return Plan{}, fmt.Errorf("opening the upload: %w", err)
	}
	defer f.Close()
	defs, err := contacts.LoadFieldDefs(app)
	if err != nil {
		return Plan{}, err
	}
	return check(f, defs, req.Identifier)
}

func check(f io.Reader, defs contacts.FieldDefs, ident Identifier) (Plan, error) {
	head := make([]byte, csvfile.SniffSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return Plan{}, fmt.Errorf("reading the upload: %w", err)
	}
	head = head[:n]
	format, err := csvfile.Sniff(head)
	var nc *csvfile.NotCSVError
	if errors.As(err, &nc) {
		return Plan{}, &InputError{Msg: nc.Reason}
	}
	if err != nil {
		return Plan{}, err
	}
	r := csvfile.NewReader(io.MultiReader(strings.NewReader(string(head)), f), format)
	hdr, err := r.Read()
	if err != nil {
		return Plan{}, readErr(err)
	}
	h, err := ParseHeader(hdr.Fields, defs, ident)
	if err != nil {
		return Plan{}, err
	}
	if _, err := r.Read(); err == io.EOF {
		return Plan{}, inputErrorf("the file has a header row but no contacts under it")
	} else if err != nil {
		return Plan{}, readErr(err)
	}
	return Plan{Format: format, Header: h}, nil
}

func readErr(err error) error {
	var pe *csvfile.ParseError
	if errors.As(err, &pe) {
		return &InputError{Msg: pe.Error()}
	}
	return err
}

// Queue stores the import record of a checked upload, status "queued"; its
// file must already be at Dir(app, id)/UploadName. userID may be empty (a
// superuser).
func Queue(app core.App, id string, req Request, plan Plan, userID string) (*core.Record, error) {
	col, err := app.FindCollectionByNameOrId("imports")
	if err != nil {
		return nil, err
	}
	rec := core.NewRecord(col)
	rec.Id = id
	rec.Set("filename", truncate(req.Filename, 300))
	rec.Set("mode", string(req.Mode))
	rec.Set("identifier", string(req.Identifier))
	rec.Set("tags", req.Tags)
	rec.Set("consent_source", req.ConsentSource)
	rec.Set("consent_wording", req.ConsentWording)
	rec.Set("status", "queued")
	rec.Set("format", plan.Format.String())
	rec.Set("ignored_columns", plan.Header.Ignored)
	rec.Set("created_by", userID)
	if err := app.Save(rec); err != nil {
		return nil, fmt.Errorf("saving the import: %w", err)
	}
	return rec, nil
}
