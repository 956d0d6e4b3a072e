package broadcasts_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pocketbase/pocketbase/core"

	"pregon/broadcasts"
	"pregon/contacts"
	"pregon/internal/testapp"
	"pregon/outbox"
)

// FuzzRenderText renders random texts with variables through SQLite, as a
// broadcast's content, for one contact with random names and custom field
// values, and checks the message against the model: literals and values
// come through byte for byte (quotes, backslashes, "||", "{{", Unicode) and
// the stored JSON is valid.
func FuzzRenderText(f *testing.F) {
	for _, s := range []string{
		"Hola {{contact.first_name|cliente}}, 20% hoy",
		"{{ contact.fields.city | Lima }} \"'\\ || {{contact.name}}",
		"{{contact.fields.points}} puntos, {{contact.id}}",
		"}} {{contact.last_name|}} ñandú 🎉",
	} {
		f.Add(s, "Ana", "Quispe", "Cusco")
	}
	app, _ := testapp.New(f)
	for _, fd := range []map[string]any{{"key": "city", "label": "City", "type": "text"}, {"key": "points", "label": "Points", "type": "number"}} {
		col, _ := app.FindCollectionByNameOrId("contact_fields")
		r := core.NewRecord(col)
		for k, v := range fd {
			r.Set(k, v)
		}
		if err := app.Save(r); err != nil {
			f.Fatal(err)
		}
	}
	defs, err := contacts.LoadFieldDefs(app)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text, first, last, city string) {
		values := map[string]string{"first_name": first, "last_name": last, "name": strings.Trim(first+" "+last, " "),
			"id": "id", "fields.city": city, "fields.points": "12.5"}
		want, err := broadcasts.RenderModel(text, defs, values)
		if err != nil || text == "" {
			return // refused when saved (an empty content too)
		}
		expr, params, err := broadcasts.RenderTextSQL(text, defs, "es")
		if err != nil {
			t.Fatal(err)
		}
		fields, _ := json.Marshal(map[string]any{"city": city, "points": 12.5})
		params["ffirst"], params["flast"], params["ffields"] = first, last, string(fields)
		var got string
		err = app.DB().NewQuery(`SELECT ` + expr + ` FROM (SELECT {:ffirst} AS first_name, {:flast} AS last_name, '' AS email,
			'' AS phone, '' AS country, '' AS language, 'id' AS id, {:ffields} AS fields) c`).Bind(params).Row(&got)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		var sc outbox.StoredContent
		if err := json.Unmarshal([]byte(got), &sc); err != nil {
			t.Fatalf("%q rendered invalid JSON %s: %v", text, got, err)
		}
		if utf8.ValidString(want) && !strings.ContainsRune(want, 0) && sc.Text != want {
			t.Fatalf("%q for (%q, %q, %q): SQL rendered %q, the model %q", text, first, last, city, sc.Text, want)
		}
	})
}

// Found by FuzzRenderText: an empty content (no text, media or template)
// crashed the renderer; the definition check refuses it, and the renderer
// says so too instead of panicking.
func TestRenderingEmptyContentIsAnError(t *testing.T) {
	if _, _, err := broadcasts.RenderTextSQL("", nil, "es"); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("want an error naming the empty content, got %v", err)
	}
}
