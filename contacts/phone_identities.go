package contacts

import "fmt"

// Identity is a contact_identities row as the phone rules see it.
type Identity struct {
	ID         string `db:"id"`
	Contact    string `db:"contact"`
	Kind       string `db:"kind"`
	Identifier string `db:"identifier"`
	FromPhone  bool   `db:"from_phone"`
}

// PhonePlan is what a contact's identities need after its phone is set.
type PhonePlan struct {
	Create []Identity // new identities that follow the phone
	Move   []Identity // identities that follow the phone, with their new Identifier
	Delete []Identity // identities that followed the phone and are no longer needed
}

// Empty reports whether the plan changes nothing.
func (p PhonePlan) Empty() bool { return len(p.Create)+len(p.Move)+len(p.Delete) == 0 }

// IdentityConflictError says an identifier already belongs to another contact.
type IdentityConflictError struct {
	Kind, Identifier, Contact string
}

func (e *IdentityConflictError) Error() string {
	return fmt.Sprintf("%s is already the %s identity of contact %s; identifiers are unique per channel: merge the two contacts or use another number",
		e.Identifier, e.Kind, e.Contact)
}

// PlanPhoneIdentities decides how contactID's identities follow its phone:
// a contact's phone is also its sms and whatsapp identity (marked
// from_phone), unless it has an explicit whatsapp identity with another
// number. Changing the phone moves the from_phone identities (they keep their
// id, so messages and consent stay attached); clearing it removes them; a
// phone that is already one of the contact's own identities absorbs them. A
// phone that is another contact's identity is an *IdentityConflictError.
//
// ids holds the contact's identities plus every sms or whatsapp identity,
// of any contact, whose identifier is phone. contactID is "" for a contact
// not saved yet.
func PlanPhoneIdentities(contactID, phone string, ids []Identity) (PhonePlan, error) {
	var plan PhonePlan
	for _, kind := range PhoneKinds {
		var following []Identity
		var atPhone *Identity
		explicit := false
		for i := range ids {
			id := ids[i]
			if id.Kind != kind {
				continue
			}
			if phone != "" && id.Identifier == phone {
				atPhone = &ids[i]
			}
			if contactID == "" || id.Contact != contactID {
				continue
			}
			if id.FromPhone {
				following = append(following, id)
			} else {
				explicit = true
			}
		}
		switch {
		case phone == "":
			plan.Delete = append(plan.Delete, following...)
		case atPhone != nil:
			if contactID == "" || atPhone.Contact != contactID {
				return PhonePlan{}, &IdentityConflictError{Kind: kind, Identifier: phone, Contact: atPhone.Contact}
			}
			for _, id := range following {
				if id.ID != atPhone.ID {
					plan.Delete = append(plan.Delete, id)
				}
			}
		case len(following) > 0:
			moved := following[0]
			moved.Identifier = phone
			plan.Move = append(plan.Move, moved)
			plan.Delete = append(plan.Delete, following[1:]...)
		case kind == KindWhatsApp && explicit:
			// The contact is on WhatsApp with another number or a user id.
		default:
			plan.Create = append(plan.Create, Identity{Contact: contactID, Kind: kind, Identifier: phone, FromPhone: true})
		}
	}
	return plan, nil
}
