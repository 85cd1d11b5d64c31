package agent

import (
	"fmt"

	"github.com/meteragent/meteragent/processing"
)

// graph knows which meters feed which: masters read their period sources,
// virtual meters their base and subtrahends.
type graph struct {
	house      processing.House
	byID       map[string]int // index in house.Meters
	inputs     map[string][]string
	dependents map[string][]string
}

func newGraph(h processing.House) (*graph, error) {
	g := &graph{
		house:      h,
		byID:       make(map[string]int, len(h.Meters)),
		inputs:     map[string][]string{},
		dependents: map[string][]string{},
	}
	for i, m := range h.Meters {
		if _, dup := g.byID[m.ID]; dup {
			return nil, fmt.Errorf("meter %q defined twice", m.ID)
		}
		g.byID[m.ID] = i
	}
	for _, m := range h.Meters {
		in := m.Inputs()
		for _, id := range in {
			if _, ok := g.byID[id]; !ok {
				return nil, fmt.Errorf("meter %q: %w %q", m.ID, processing.ErrUnknownMeter, id)
			}
			g.dependents[id] = append(g.dependents[id], m.ID)
		}
		g.inputs[m.ID] = in
	}
	return g, nil
}

func (g *graph) all() map[string]bool {
	out := make(map[string]bool, len(g.house.Meters))
	for _, m := range g.house.Meters {
		out[m.ID] = true
	}
	return out
}

// affected returns ids and every meter that depends on them, transitively.
// Ids that are not meters of the house are left out.
func (g *graph) affected(ids []string) map[string]bool {
	out := map[string]bool{}
	var visit func(string)
	visit = func(id string) {
		if out[id] {
			return
		}
		if _, ok := g.byID[id]; !ok {
			return
		}
		out[id] = true
		for _, d := range g.dependents[id] {
			visit(d)
		}
	}
	for _, id := range ids {
		visit(id)
	}
	return out
}

// subHouse returns the house reduced to the meters in want and everything
// they read, in the house's order.
func (g *graph) subHouse(want map[string]bool) processing.House {
	need := map[string]bool{}
	var visit func(string)
	visit = func(id string) {
		if need[id] {
			return
		}
		need[id] = true
		for _, in := range g.inputs[id] {
			visit(in)
		}
	}
	for id := range want {
		visit(id)
	}
	h := g.house
	h.Meters = make([]processing.Meter, 0, len(need))
	for _, m := range g.house.Meters {
		if need[m.ID] {
			h.Meters = append(h.Meters, m)
		}
	}
	return h
}
