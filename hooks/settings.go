package hooks

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"pregon/contacts"
)

// bindSettings validates the workspace settings row on every write, so a
// typo in a region or time zone is a 400 that names the field instead of a
// fault at the next import or schedule.
func bindSettings(env *Env) {
	env.App.OnRecordValidate("settings").BindFunc(func(e *core.RecordEvent) error {
		errs := validation.Errors{}
		if r := e.Record.GetString("default_region"); r != "" && !contacts.ValidRegion(r) {
			errs["default_region"] = validation.NewError("invalid_region", fmt.Sprintf("%q is not a region code (use ISO 3166-1 alpha-2, e.g. MX, PE, IN)", r))
		}
		if tz := e.Record.GetString("timezone"); tz != "" {
			if _, err := time.LoadLocation(tz); err != nil {
				errs["timezone"] = validation.NewError("invalid_timezone", fmt.Sprintf("%q is not an IANA time zone (e.g. America/Lima)", tz))
			}
		}
		if err := validateBusinessHours(e.Record.GetString("business_hours")); err != nil {
			errs["business_hours"] = validation.NewError("invalid_business_hours", err.Error())
		}
		if len(errs) > 0 {
			return errs
		}
		return e.Next()
	})
	env.App.OnRecordCreate("settings").BindFunc(func(e *core.RecordEvent) error {
		var n int
		if err := e.App.DB().NewQuery("SELECT COUNT(*) FROM settings").Row(&n); err != nil {
			return err
		}
		if n > 0 {
			return validation.Errors{"id": validation.NewError("single_row", "the workspace has one settings row; update it instead")}
		}
		return e.Next()
	})
}

var hhmm = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

var weekdays = map[string]bool{"mon": true, "tue": true, "wed": true, "thu": true, "fri": true, "sat": true, "sun": true}

// validateBusinessHours accepts {"mon":[["09:00","18:00"]], ...}.
func validateBusinessHours(raw string) error {
	if raw == "" || raw == "null" {
		return nil
	}
	var bh map[string][][]string
	if err := json.Unmarshal([]byte(raw), &bh); err != nil {
		return fmt.Errorf(`use {"mon":[["09:00","18:00"]], ...}`)
	}
	for day, spans := range bh {
		if !weekdays[day] {
			return fmt.Errorf("%q is not a day; use mon, tue, wed, thu, fri, sat, sun", day)
		}
		for _, s := range spans {
			if len(s) != 2 || !hhmm.MatchString(s[0]) || !hhmm.MatchString(s[1]) || s[0] >= s[1] {
				return fmt.Errorf("%s: each span is [\"HH:MM\",\"HH:MM\"] with the start before the end", day)
			}
		}
	}
	return nil
}
