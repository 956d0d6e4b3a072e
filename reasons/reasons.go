// Package reasons explains, in plain English and Spanish, why a message
// failed or a contact was left out: the failed-messages log, its CSV export
// and the per-contact "why didn't this person get my message?" all read from
// this one catalogue, keyed by provider error code or by Pregón's own codes.
package reasons

import (
	"strings"
)

// Reason is one explanation.
type Reason struct {
	Code string `json:"code"`
	EN   string `json:"en"`
	ES   string `json:"es"`
	// Retryable: sending again later may work (a resend includes it by default).
	Retryable bool `json:"retryable"`
}

// Text returns the explanation in lang ("es…" → Spanish, else English).
func (r Reason) Text(lang string) string {
	if strings.HasPrefix(strings.ToLower(lang), "es") {
		return r.ES
	}
	return r.EN
}

// Pregón's own codes, for failures decided before any provider call and for
// audience exclusions.
const (
	DailyLimit       = "daily_limit"
	WindowClosed     = "window_closed"
	OptedOut         = "opted_out"
	NotOptedIn       = "not_opted_in"
	NoIdentity       = "no_identity"
	InvalidID        = "invalid_identifier"
	DuplicateID      = "duplicate_identity"
	NotInteracted    = "not_previously_interacted"
	ChannelPaused    = "channel_paused"
	RetriesExhausted = "retries_exhausted"
	Unknown          = "unknown_outcome"
	Cancelled        = "cancelled"
	// Broadcasts sent to each contact's last interacted channel.
	NoLastChannel      = "no_last_channel"
	ChannelNotSelected = "channel_not_selected"
)

type entry struct {
	en, es    string
	retryable bool
}

var own = map[string]entry{
	DailyLimit:       {"Daily limit reached: the channel's messaging tier (unique recipients per 24 hours) was used up.", "Límite diario alcanzado: se agotó el nivel de mensajería del canal (destinatarios únicos en 24 horas).", true},
	WindowClosed:     {"The 24-hour window is closed: outside it WhatsApp only accepts approved templates.", "La ventana de 24 horas está cerrada: fuera de ella WhatsApp solo acepta plantillas aprobadas.", false},
	OptedOut:         {"The contact opted out of messages on this channel.", "El contacto se dio de baja de los mensajes en este canal.", false},
	NotOptedIn:       {"The workspace requires an explicit opt-in and this contact has none recorded.", "El espacio de trabajo exige consentimiento explícito y este contacto no lo tiene registrado.", false},
	NoIdentity:       {"The contact has no identity on this channel.", "El contacto no tiene un identificador en este canal.", false},
	InvalidID:        {"The contact's identifier has an invalid format for this channel.", "El identificador del contacto tiene un formato no válido para este canal.", false},
	DuplicateID:      {"A duplicate contact: another contact in the audience has the same phone or e-mail; it was sent once.", "Contacto duplicado: otro contacto de la audiencia tiene el mismo teléfono o correo electrónico; se envió una sola vez.", false},
	NotInteracted:    {"The contact never wrote to this channel, and the broadcast is limited to those who did.", "El contacto nunca escribió a este canal y la transmisión se limita a quienes sí lo hicieron.", false},
	ChannelPaused:    {"The channel is paused or misconfigured; fix it and resume.", "El canal está en pausa o mal configurado; corríjalo y reanúdelo.", true},
	RetriesExhausted: {"The provider kept failing; every retry was used.", "El proveedor siguió fallando; se agotaron los reintentos.", true},
	Unknown:          {"The send was in flight when the server stopped: it may or may not have arrived. Review before resending.", "El envío estaba en curso cuando el servidor se detuvo: puede haber llegado o no. Revíselo antes de reenviar.", false},
	Cancelled:        {"The broadcast was cancelled before this message was sent.", "La transmisión se canceló antes de enviar este mensaje.", false},
	NoLastChannel: {"The contact has never written to us, so there is no last interacted channel to send to.",
		"El contacto nunca nos escribió, así que no hay un último canal de interacción al que enviar.", false},
	ChannelNotSelected: {"The contact last wrote on a channel this broadcast does not send to (its type was deselected or cannot broadcast).",
		"El contacto escribió por última vez en un canal al que esta transmisión no envía (su tipo se deseleccionó o no admite transmisiones).", false},
}

// Provider codes, from the providers' documentation (docs/channel-contracts.md).
var provider = map[string]entry{
	// WhatsApp Cloud API
	"131026": {"Undeliverable: the number is not on WhatsApp, uses an old app, or blocked the business.", "No entregable: el número no está en WhatsApp, usa una versión antigua o bloqueó a la empresa.", false},
	"131047": {"More than 24 hours since the contact's last message: only a template can be sent.", "Pasaron más de 24 horas desde el último mensaje del contacto: solo se puede enviar una plantilla.", false},
	"131049": {"WhatsApp chose not to deliver this marketing message (per-user limit). Wait at least 24 hours.", "WhatsApp decidió no entregar este mensaje de marketing (límite por usuario). Espere al menos 24 horas.", true},
	"131050": {"The contact turned off marketing messages from this business.", "El contacto desactivó los mensajes de marketing de esta empresa.", false},
	"131056": {"Too many messages to this contact in a short time (pair rate limit).", "Demasiados mensajes a este contacto en poco tiempo (límite por destinatario).", true},
	"130429": {"The number's throughput limit was exceeded.", "Se superó el límite de envío por segundo del número.", true},
	"131048": {"The number is restricted because recipients blocked or reported messages.", "El número está restringido porque destinatarios bloquearon o reportaron mensajes.", true},
	"130472": {"The contact's number is part of a WhatsApp experiment and cannot receive this message.", "El número del contacto participa en un experimento de WhatsApp y no puede recibir este mensaje.", false},
	"130497": {"The business may not message users in this country.", "La empresa no puede enviar mensajes a usuarios de este país.", false},
	"131021": {"The recipient is the sending number itself.", "El destinatario es el mismo número que envía.", false},
	"131051": {"WhatsApp does not support this message type.", "WhatsApp no admite este tipo de mensaje.", false},
	"131053": {"WhatsApp could not download the media from its URL.", "WhatsApp no pudo descargar el archivo desde su URL.", true},
	"132000": {"The template's parameter count does not match.", "La cantidad de parámetros no coincide con la plantilla.", false},
	"132001": {"The template does not exist in that language or is not approved.", "La plantilla no existe en ese idioma o no está aprobada.", false},
	"132005": {"The template text is too long after filling in the parameters.", "El texto de la plantilla es demasiado largo después de completar los parámetros.", false},
	"132007": {"The template violates WhatsApp's format or character policy.", "La plantilla infringe la política de formato o caracteres de WhatsApp.", false},
	"132012": {"A template parameter has the wrong format (e.g. media instead of text).", "Un parámetro de la plantilla tiene el formato incorrecto (p. ej. archivo en lugar de texto).", false},
	"132015": {"The template is paused for low quality.", "La plantilla está en pausa por baja calidad.", false},
	"132016": {"The template is disabled.", "La plantilla está desactivada.", false},
	"190":    {"The access token expired or was revoked: reconnect the channel.", "El token de acceso caducó o fue revocado: vuelva a conectar el canal.", true},
	"368":    {"The account is temporarily blocked for policy violations.", "La cuenta está bloqueada temporalmente por infringir políticas.", true},
	"131031": {"The business account is locked.", "La cuenta de empresa está bloqueada.", true},
	"131042": {"Business eligibility or payment problem on the WhatsApp account.", "Problema de elegibilidad o de pago en la cuenta de WhatsApp.", true},
	// Twilio
	"21211": {"The phone number is not valid.", "El número de teléfono no es válido.", false},
	"21408": {"The account may not send to this country or region.", "La cuenta no puede enviar a este país o región.", false},
	"21610": {"The contact replied STOP and is unsubscribed.", "El contacto respondió STOP y está dado de baja.", false},
	"21614": {"The number is not a mobile number.", "El número no es un teléfono móvil.", false},
	"21617": {"The message is longer than 1,600 characters.", "El mensaje supera los 1.600 caracteres.", false},
	"30003": {"The handset is unreachable (off or out of coverage).", "El teléfono no está disponible (apagado o sin cobertura).", true},
	"30004": {"The message was blocked by the recipient or the carrier.", "El destinatario o el operador bloqueó el mensaje.", false},
	"30005": {"The number does not exist.", "El número no existe.", false},
	"30006": {"The number is a landline or its carrier cannot be reached.", "El número es fijo o su operador no es accesible.", false},
	"30007": {"The carrier filtered the message as spam.", "El operador filtró el mensaje como spam.", false},
	"30008": {"Unknown delivery error at the carrier.", "Error de entrega desconocido en el operador.", true},
	"63016": {"WhatsApp via Twilio: outside the 24-hour window only templates are accepted.", "WhatsApp vía Twilio: fuera de la ventana de 24 horas solo se aceptan plantillas.", false},
	"20003": {"Twilio rejected the credentials: check the Account SID and Auth Token.", "Twilio rechazó las credenciales: revise el Account SID y el Auth Token.", true},
}

// Telegram errors carry no stable numeric codes beyond HTTP status; adapters
// report these codes for the cases that matter.
var telegram = map[string]entry{
	"blocked":        {"The contact blocked the bot.", "El contacto bloqueó el bot.", false},
	"deactivated":    {"The contact's Telegram account was deleted.", "La cuenta de Telegram del contacto fue eliminada.", false},
	"not_started":    {"The contact never started a chat with the bot.", "El contacto nunca inició un chat con el bot.", false},
	"chat_not_found": {"Telegram does not know this chat.", "Telegram no conoce este chat.", false},
}

// For explains a failure. code is messages.error_code; class its error_class
// (used when the code is not catalogued); detail the provider's own words,
// shown when nothing better is known.
func For(code, class, detail string) Reason {
	if e, ok := own[code]; ok {
		return Reason{Code: code, EN: e.en, ES: e.es, Retryable: e.retryable}
	}
	if e, ok := provider[code]; ok {
		return Reason{Code: code, EN: e.en, ES: e.es, Retryable: e.retryable}
	}
	if e, ok := telegram[strings.ToLower(code)]; ok {
		return Reason{Code: code, EN: e.en, ES: e.es, Retryable: e.retryable}
	}
	r := Reason{Code: code}
	switch class {
	case "retry", "throttle":
		r.EN, r.ES, r.Retryable = "A temporary problem at the provider.", "Un problema temporal del proveedor.", true
	case "config":
		r.EN, r.ES, r.Retryable = "The channel's configuration was rejected; fix it and resume.", "El proveedor rechazó la configuración del canal; corríjala y reanude.", true
	default:
		r.EN, r.ES = "The provider refused this message.", "El proveedor rechazó este mensaje."
	}
	if detail != "" {
		r.EN += " (" + detail + ")"
		r.ES += " (" + detail + ")"
	}
	return r
}
