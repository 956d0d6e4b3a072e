package deliveries

import (
	"fmt"
	"strings"

	"pregon/reasons"
)

// words is one sentence in English and Spanish. Sentences are built from
// the fixed texts below with fmt verbs; an argument that is itself words is
// filled in the same language.
type words struct{ EN, ES string }

func (w words) with(args ...any) words {
	pick := func(es bool) []any {
		out := make([]any, len(args))
		for i, a := range args {
			if x, ok := a.(words); ok {
				if es {
					a = x.ES
				} else {
					a = x.EN
				}
			}
			out[i] = a
		}
		return out
	}
	return words{fmt.Sprintf(w.EN, pick(false)...), fmt.Sprintf(w.ES, pick(true)...)}
}

// then appends another sentence.
func (w words) then(x words) words { return words{w.EN + " " + x.EN, w.ES + " " + x.ES} }

// in returns the sentence in lang (es or en).
func (w words) in(lang string) string {
	if strings.HasPrefix(lang, "es") {
		return w.ES
	}
	return w.EN
}

func reasonWords(r reasons.Reason) words { return words{r.EN, r.ES} }

// The sentences of the answer, one per situation.
var (
	sayDraft     = words{`Not sent yet: the broadcast "%s" is a draft.`, `Aún no se envió: la transmisión "%s" es un borrador.`}
	sayScheduled = words{`Not sent yet: the broadcast "%s" is scheduled for %s.`, `Aún no se envió: la transmisión "%s" está programada para el %s.`}
	sayWillJoin  = words{"The contact is in its segment now, so it will be in the audience unless a rule excludes it when sending starts (the segment is resolved at that moment).",
		"El contacto está ahora en su segmento, así que estará en la audiencia salvo que una regla lo excluya al empezar el envío (el segmento se resuelve en ese momento)."}
	sayNotInSegmentYet = words{"The contact is not in its segment now.", "El contacto no está ahora en su segmento."}
	sayNoSegment       = words{"The broadcast has no segment yet.", "La transmisión aún no tiene segmento."}

	sayNotTargeted = words{"Not in the audience: no message was planned for this contact when the broadcast started on %s (its segment is resolved at that moment).",
		"No estaba en la audiencia: no se planificó ningún mensaje para este contacto cuando la transmisión empezó el %s (su segmento se resuelve en ese momento)."}
	sayNotInResend = words{`Not included in this resend of "%s": a resend retries the failures it was asked to (the retryable ones unless permanent ones were asked for too).`,
		`No se incluyó en este reenvío de "%s": un reenvío reintenta los fallos que se le pidieron (los que admiten reintento, salvo que se pidieran también los permanentes).`}
	sayCreatedAfter = words{"The contact was created after that, on %s.", "El contacto se creó después, el %s."}
	sayJoinedLater  = words{"The contact is in the segment now: it joined after the broadcast started.",
		"El contacto está ahora en el segmento: entró después de que empezara la transmisión."}
	sayNotInSegment    = words{"The contact is not in the segment now either.", "Tampoco está ahora en el segmento."}
	sayBroadcastFailed = words{"Not sent: the broadcast failed before sending to this contact: %s", "No se envió: la transmisión falló antes de enviar a este contacto: %s"}
	sayCancelledEarly  = words{"Not sent: the broadcast was cancelled before it started.", "No se envió: la transmisión se canceló antes de empezar."}
	sayExcluded        = words{"Excluded from the broadcast: %s", "Excluido de la transmisión: %s"}
	sayChannelPaused   = words{`Waiting: the channel "%s" is paused, so nothing is sent until an admin resumes it. Last error: %s`, `En espera: el canal "%s" está en pausa y no envía nada hasta que un administrador lo reanude. Último error: %s`}
	sayNoLastError     = words{"none recorded.", "no hay ninguno registrado."}
	sayBroadcastPaused = words{`Not sent yet: the broadcast "%s" is paused; it continues when someone resumes it.`, `Aún no se envió: la transmisión "%s" está en pausa; continuará cuando alguien la reanude.`}
	sayHeld            = words{"Not sent yet: held back by what sent it.", "Aún no se envió: retenido por su origen."}
	sayRetrying        = words{"Waiting to try again (%d attempts so far) after a temporary problem: %s Next attempt on %s.", "Esperando para reintentar (%d intentos hasta ahora) tras un problema temporal: %s Próximo intento el %s."}
	sayDueLater        = words{"Queued: due to go on %s (the send rate spreads the messages over time).", "En cola: saldrá el %s (la velocidad de envío reparte los mensajes en el tiempo)."}
	sayQueued          = words{"Queued: waiting for its turn to be sent.", "En cola: esperando su turno para enviarse."}
	saySending         = words{"Being sent right now.", "Enviándose en este momento."}
	saySent            = words{"Sent on %s; the channel has not confirmed delivery yet.", "Enviado el %s; el canal aún no confirmó la entrega."}
	saySentNoReceipts  = words{"Sent on %s. This channel does not report deliveries or reads, so this is its last status.", "Enviado el %s. Este canal no informa entregas ni lecturas, así que este es su último estado."}
	sayDelivered       = words{"Delivered on %s.", "Entregado el %s."}
	sayRead            = words{"Read on %s.", "Leído el %s."}
	sayFailed          = words{"Failed on %s: %s", "Falló el %s: %s"}
	sayRetryable       = words{"Sending again later may work.", "Volver a enviarlo más tarde puede funcionar."}
	sayPermanent       = words{"Sending it again will not help until the cause is fixed.", "Volver a enviarlo no servirá hasta que se corrija la causa."}
	sayUnknown         = words{"Outcome unknown since %s: %s", "Resultado desconocido desde el %s: %s"}
	sayReplied         = words{"The contact replied on %s.", "El contacto respondió el %s."}
	sayRepliedNoTime   = words{"The contact replied.", "El contacto respondió."}
	sayNoTime          = words{"an unrecorded time", "una hora no registrada"}
)
