package demo

import (
	"github.com/pocketbase/pocketbase/core"
)

// SampleBroadcast is the name of the demo's draft broadcast.
const SampleBroadcast = "Bienvenida (prueba en el sandbox)"

// broadcast adds what the seed's first steps make: a segment (whoever wrote
// to the sandbox, i.e. the people an admin plays there) and a draft
// broadcast to the Sandbox channel with a personalised text, ready to
// preview, test and send once someone has written to the sandbox.
func (g *generator) broadcast(tx core.App, sandbox string) error {
	seg, err := save(tx, "segments", map[string]any{"name": "Escribieron al sandbox", "conditions": map[string]any{
		"groups": []any{map[string]any{"conditions": []any{
			map[string]any{"category": "identity", "operator": "is", "value": "sandbox"}}}}}})
	if err != nil {
		return err
	}
	_, err = save(tx, "broadcasts", map[string]any{"name": SampleBroadcast, "status": "draft", "tags": []string{"demo", "bienvenida"},
		"segment": seg.Id, "channel_mode": "specific", "channel": sandbox,
		"content": map[string]any{"sandbox": map[string]any{
			"text": "Hola {{contact.first_name|cliente}}, esta semana tienes 20% en toda la tienda. Responde BAJA si no quieres recibir más mensajes."}},
	})
	if err != nil {
		return err
	}
	g.res.Broadcast = SampleBroadcast
	return nil
}
