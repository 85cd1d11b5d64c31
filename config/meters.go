package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// meterNodes keeps the nodes of a meter that cross-meter checks report on.
type meterNodes struct {
	path       string
	item       *yaml.Node
	id         *yaml.Node
	outputUnit *yaml.Node
	base       *yaml.Node
	subtract   []*yaml.Node // parallel to Meter.SubtractMeters
	convKeys   []string     // conversion ids in file order
	convKey    map[string]*yaml.Node
	convFrom   map[string]*yaml.Node
	convTo     map[string]*yaml.Node
	periods    []periodNodes // parallel to Meter.Periods
}

type periodNodes struct {
	path    string
	sources []*yaml.Node // parallel to Period.SourceMeters
}

// parseMeters reads meters.yaml. ok reports whether the meter list itself
// could be read, so that references between meters can be checked.
func (p *fileParser) parseMeters(root *yaml.Node) (meters []Meter, nodes []meterNodes, ok bool) {
	if root == nil {
		p.fail(nil, "meters", fail(ErrMissing, "no meters defined"))
		return nil, nil, false
	}
	es, ok := p.mapping(root, "")
	if !ok {
		return nil, nil, false
	}
	var list *yaml.Node
	p.walk(es, "", schema{fields: map[string]func(*yaml.Node, string){
		"meters": func(v *yaml.Node, _ string) { list = v },
	}})
	seq := deref(list)
	switch {
	case list == nil:
		p.fail(root, "meters", fail(ErrMissing, "no meters defined"))
		return nil, nil, false
	case seq.Kind != yaml.SequenceNode:
		p.fail(list, "meters", fail(ErrInvalid, "want a list of meters, got %s", describe(list)))
		return nil, nil, false
	case len(seq.Content) == 0:
		p.fail(list, "meters", fail(ErrMissing, "no meters defined"))
		return nil, nil, false
	}
	firstLine := map[string]int{}
	for i, item := range seq.Content {
		m, mn := p.parseMeter(item, indexPath("meters", i))
		if m.ID != "" {
			if first, dup := firstLine[m.ID]; dup {
				p.fail(mn.id, mn.path+".meter_id", fail(ErrDuplicate, "duplicate meter_id %q (first at line %d)", m.ID, first))
			} else {
				firstLine[m.ID] = lineOf(mn.id)
			}
		}
		meters = append(meters, m)
		nodes = append(nodes, mn)
	}
	return meters, nodes, true
}

var meterTypes = []string{TypePhysical, TypeMaster, TypeVirtual}

func (p *fileParser) parseMeter(item *yaml.Node, path string) (Meter, meterNodes) {
	m := Meter{Line: lineOf(item)}
	mn := meterNodes{path: path, item: item}
	es, ok := p.mapping(item, path)
	if !ok {
		return m, mn
	}

	// Which keys apply depends on the type, so read it first.
	typeOK := false
	for _, e := range es {
		if e.name != "type" || isNull(e.val) {
			continue
		}
		s, ok := p.str(e.val, keyPath(path, "type"))
		if !ok {
			break
		}
		t := strings.ToLower(strings.TrimSpace(s))
		for _, known := range meterTypes {
			if t == known {
				m.Type, typeOK = t, true
			}
		}
		if !typeOK {
			p.fail(e.val, keyPath(path, "type"), fail(ErrInvalid, "unknown meter type %q (want physical, master or virtual)", s))
		}
	}

	fields := map[string]func(*yaml.Node, string){
		"type": func(*yaml.Node, string) {}, // read above
		"meter_id": func(v *yaml.Node, path string) {
			if s, ok := p.id(v, path, "meter id"); ok {
				m.ID, mn.id = s, v
			}
		},
		"output_unit": func(v *yaml.Node, path string) {
			if u, ok := p.unit(v, path); ok {
				m.OutputUnit, mn.outputUnit = u, v
			}
		},
		"description": set(&m.Description, p.str),
	}
	groups := []struct {
		typ    string
		fields map[string]func(*yaml.Node, string)
	}{
		{TypePhysical, map[string]func(*yaml.Node, string){
			"installation_date":   set(&m.InstallationDate, p.realDay),
			"deinstallation_date": set(&m.DeinstallationDate, p.date),
			"register_size": func(v *yaml.Node, path string) {
				f, ok := p.float(v, path)
				if !ok {
					return
				}
				if f < 0 {
					p.fail(v, path, fail(ErrInvalid, "must not be negative, got %v", f))
					return
				}
				m.RegisterSize = f
			},
			"mqtt": func(v *yaml.Node, path string) { p.parseMeterMQTT(v, path, &m) },
		}},
		{TypeMaster, map[string]func(*yaml.Node, string){
			"periods": func(v *yaml.Node, path string) { p.parsePeriods(v, path, &m, &mn) },
		}},
		{TypeVirtual, map[string]func(*yaml.Node, string){
			"calculation_type": func(v *yaml.Node, path string) {
				s, ok := p.str(v, path)
				if !ok {
					return
				}
				if strings.ToLower(strings.TrimSpace(s)) != CalculationSubtraction {
					p.fail(v, path, fail(ErrInvalid, "unknown calculation_type %q (want subtraction)", s))
					return
				}
				m.CalculationType = CalculationSubtraction
			},
			"base_meter": func(v *yaml.Node, path string) {
				if p.nonEmpty(&m.BaseMeter)(v, path) {
					mn.base = v
				}
			},
			"subtract_meters": func(v *yaml.Node, path string) {
				ids, idNodes := p.idList(v, path)
				m.SubtractMeters = append(m.SubtractMeters, ids...)
				mn.subtract = append(mn.subtract, idNodes...)
			},
			"subtract_meter_conversions": func(v *yaml.Node, path string) { p.parseConversions(v, path, &m, &mn) },
		}},
	}
	s := schema{fields: fields, ignored: map[string]string{}}
	for _, g := range groups {
		for k, fn := range g.fields {
			if g.typ == m.Type || !typeOK {
				s.fields[k] = fn
			} else {
				s.ignored[k] = fmt.Sprintf("ignored for %s meters (applies to %s meters)", m.Type, g.typ)
			}
		}
	}
	p.walk(es, path, s)

	if mn.id == nil && m.ID == "" && !hasKey(es, "meter_id") {
		p.fail(item, keyPath(path, "meter_id"), fail(ErrMissing, "missing"))
	}
	if !hasKey(es, "type") {
		p.fail(item, keyPath(path, "type"), fail(ErrMissing, "missing (want physical, master or virtual)"))
	}
	switch m.Type {
	case TypePhysical:
		p.checkPhysical(es, &m, &mn)
	case TypeMaster:
		if m.OutputUnit == "" && mn.outputUnit == nil {
			m.OutputUnit = UnitKWh
		}
		if !hasKey(es, "periods") {
			p.fail(item, keyPath(path, "periods"), fail(ErrMissing, "missing (a master meter needs at least one period)"))
		}
		for j := range m.Periods {
			if m.Periods[j].SourceUnit == "" {
				m.Periods[j].SourceUnit = m.OutputUnit
			}
		}
	case TypeVirtual:
		if m.CalculationType == "" {
			m.CalculationType = CalculationSubtraction
		}
		if !hasKey(es, "base_meter") {
			p.fail(item, keyPath(path, "base_meter"), fail(ErrMissing, "missing (a virtual meter subtracts from a base meter)"))
		}
		for _, id := range mn.convKeys {
			if !contains(m.SubtractMeters, id) {
				p.fail(mn.convKey[id], keyPath(keyPath(path, "subtract_meter_conversions"), id), fail(ErrUnknownMeter, "conversion for %q, which is not in subtract_meters", id))
			}
		}
	}
	return m, mn
}

func (p *fileParser) checkPhysical(es []entry, m *Meter, mn *meterNodes) {
	if !hasKey(es, "output_unit") {
		p.fail(mn.item, keyPath(mn.path, "output_unit"), fail(ErrMissing, "missing (the unit of the meter's register, e.g. kWh or m³)"))
	}
	if !hasKey(es, "installation_date") {
		p.fail(mn.item, keyPath(mn.path, "installation_date"), fail(ErrMissing, "missing (required for physical meters)"))
	}
	in, out := m.InstallationDate, m.DeinstallationDate
	if !in.IsZero() && !out.IsZero() && out.Before(in) {
		n := valueOf(es, "deinstallation_date")
		p.fail(n, keyPath(mn.path, "deinstallation_date"), fail(ErrInvalid, "%s is before installation_date %s", out, in))
	}
}

func (p *fileParser) parsePeriods(v *yaml.Node, path string, m *Meter, mn *meterNodes) {
	seq := deref(v)
	if seq.Kind != yaml.SequenceNode {
		p.fail(v, path, fail(ErrInvalid, "want a list of periods, got %s", describe(v)))
		return
	}
	if len(seq.Content) == 0 {
		p.fail(v, path, fail(ErrMissing, "no periods (a master meter needs at least one)"))
		return
	}
	type span struct {
		start, end Date
		ok         bool
	}
	var spans []span
	for j, item := range seq.Content {
		pp := indexPath(path, j)
		per := Period{Line: lineOf(item)}
		pn := periodNodes{path: pp}
		es, ok := p.mapping(item, pp)
		if !ok {
			continue
		}
		var startOK, endOK, badComposition bool
		var endNode, sourcesNode, offsetNode, synonymNode *yaml.Node
		var offset, synonym bool
		p.walk(es, pp, schema{fields: map[string]func(*yaml.Node, string){
			"start_date": func(v *yaml.Node, path string) {
				if d, ok := p.realDay(v, path); ok {
					per.StartDate, startOK = d, true
				}
			},
			"end_date": func(v *yaml.Node, path string) {
				if d, ok := p.date(v, path); ok {
					per.EndDate, endOK, endNode = d, true, v
				}
			},
			"composition_type": func(v *yaml.Node, path string) {
				s, ok := p.str(v, path)
				if !ok {
					return
				}
				switch t := strings.ToLower(strings.TrimSpace(s)); t {
				case CompositionSingle, CompositionSum:
					per.CompositionType = t
				default:
					p.fail(v, path, fail(ErrInvalid, "unknown composition_type %q (want single or sum)", s))
					badComposition = true
				}
			},
			"source_meters": func(v *yaml.Node, path string) {
				ids, idNodes := p.idList(v, path)
				sourcesNode = v
				per.SourceMeters = append(per.SourceMeters, ids...)
				pn.sources = append(pn.sources, idNodes...)
			},
			"source_unit": set(&per.SourceUnit, p.unit),
			"apply_offset_from_previous_period": func(v *yaml.Node, path string) {
				offset, _ = p.bool(v, path)
				offsetNode = v
			},
			"apply_offset": func(v *yaml.Node, path string) {
				synonym, _ = p.bool(v, path)
				synonymNode = v
			},
		}})

		if !hasKey(es, "start_date") {
			p.fail(item, keyPath(pp, "start_date"), fail(ErrMissing, "missing"))
		}
		if !hasKey(es, "end_date") {
			per.EndDate, endOK = openDate, true // no end: the period is still running
		}
		if startOK && endOK && per.EndDate.Before(per.StartDate) {
			p.fail(endNode, keyPath(pp, "end_date"), fail(ErrInvalid, "%s is before start_date %s", per.EndDate, per.StartDate))
			endOK = false
		}
		if per.CompositionType == "" {
			per.CompositionType = CompositionSingle
		}
		switch {
		case !hasKey(es, "source_meters"):
			p.fail(item, keyPath(pp, "source_meters"), fail(ErrMissing, "missing"))
		case sourcesNode != nil && len(deref(sourcesNode).Content) == 0:
			p.fail(sourcesNode, keyPath(pp, "source_meters"), fail(ErrMissing, "no source meters"))
		case per.CompositionType == CompositionSingle && !badComposition && len(per.SourceMeters) > 1:
			p.fail(sourcesNode, keyPath(pp, "source_meters"), fail(ErrInvalid, "composition_type single takes one source meter, got %d (use sum to add them)", len(per.SourceMeters)))
		}
		per.ApplyOffset = offset || synonym
		if offsetNode != nil && synonymNode != nil && offset != synonym {
			p.fail(synonymNode, keyPath(pp, "apply_offset"), fail(ErrInvalid, "contradicts apply_offset_from_previous_period (give only one)"))
		}

		spans = append(spans, span{per.StartDate, per.EndDate, startOK && endOK})
		if k := len(spans) - 1; k > 0 && spans[k].ok && spans[k-1].ok {
			prev, cur := spans[k-1], spans[k]
			switch {
			case cur.start.Before(prev.start):
				p.fail(item, keyPath(pp, "start_date"), fail(ErrInvalid, "periods out of order: %s is before the previous period's start %s", cur.start, prev.start))
			case !cur.start.After(prev.end):
				p.fail(item, keyPath(pp, "start_date"), fail(ErrInvalid, "overlaps the previous period, which ends %s", prev.end))
			case cur.start != NewDate(prev.end.Year(), prev.end.Month(), prev.end.Day()+1):
				p.notice(item, keyPath(pp, "start_date"), "the days after the previous period's end %s and before %s belong to no period", prev.end, cur.start)
			}
		}
		m.Periods = append(m.Periods, per)
		mn.periods = append(mn.periods, pn)
	}
}

func (p *fileParser) parseConversions(v *yaml.Node, path string, m *Meter, mn *meterNodes) {
	es, ok := p.mapping(v, path)
	if !ok {
		return
	}
	m.SubtractMeterConversions = make(map[string]Conversion, len(es))
	mn.convKey = map[string]*yaml.Node{}
	mn.convFrom = map[string]*yaml.Node{}
	mn.convTo = map[string]*yaml.Node{}
	for _, e := range es {
		cp := keyPath(path, e.name)
		mn.convKeys = append(mn.convKeys, e.name)
		mn.convKey[e.name] = e.key
		mn.convFrom[e.name] = e.key // until from_unit is read, report on the key
		mn.convTo[e.name] = e.key
		if isNull(e.val) {
			p.fail(e.key, cp, fail(ErrMissing, "missing from_unit and to_unit"))
			continue
		}
		ces, ok := p.mapping(e.val, cp)
		if !ok {
			continue
		}
		var c Conversion
		fromOK, toOK := false, false
		p.walk(ces, cp, schema{fields: map[string]func(*yaml.Node, string){
			"from_unit": func(v *yaml.Node, path string) {
				c.FromUnit, fromOK = p.unit(v, path)
				mn.convFrom[e.name] = v
			},
			"to_unit": func(v *yaml.Node, path string) {
				c.ToUnit, toOK = p.unit(v, path)
				mn.convTo[e.name] = v
			},
		}})
		if !hasKey(ces, "from_unit") {
			p.fail(e.val, keyPath(cp, "from_unit"), fail(ErrMissing, "missing"))
		}
		if !hasKey(ces, "to_unit") {
			p.fail(e.val, keyPath(cp, "to_unit"), fail(ErrMissing, "missing"))
		}
		if fromOK && toOK {
			m.SubtractMeterConversions[e.name] = c
		}
	}
}

// checkReferences checks what one meter says about others: that referenced
// meters exist and are of a usable type, that units agree, and that no
// meters depend on each other in a cycle. It also fills in a virtual meter's
// default unit, which is its base meter's.
func (p *fileParser) checkReferences(meters []Meter, nodes []meterNodes) {
	byID := make(map[string]int, len(meters))
	for i, m := range meters {
		if _, dup := byID[m.ID]; m.ID != "" && !dup {
			byID[m.ID] = i
		}
	}
	type ref struct {
		to   int
		node *yaml.Node
		path string
	}
	refs := make([][]ref, len(meters))
	lookup := func(i int, id string, n *yaml.Node, path string) (int, bool) {
		j, ok := byID[id]
		if !ok {
			p.fail(n, path, fail(ErrUnknownMeter, "unknown meter %q", id))
			return 0, false
		}
		refs[i] = append(refs[i], ref{j, n, path})
		return j, true
	}

	for i, m := range meters {
		mn := nodes[i]
		switch m.Type {
		case TypeMaster:
			for k, per := range m.Periods {
				pn := mn.periods[k]
				for s, id := range per.SourceMeters {
					path := indexPath(keyPath(pn.path, "source_meters"), s)
					if j, ok := lookup(i, id, pn.sources[s], path); ok && meters[j].Type == TypeVirtual {
						p.fail(pn.sources[s], path, fail(ErrInvalid, "%q is a virtual meter; master periods take physical or master meters", id))
					}
				}
			}
		case TypeVirtual:
			if mn.base != nil {
				lookup(i, m.BaseMeter, mn.base, keyPath(mn.path, "base_meter"))
			}
			for s, id := range m.SubtractMeters {
				path := indexPath(keyPath(mn.path, "subtract_meters"), s)
				if id == m.BaseMeter {
					p.fail(mn.subtract[s], path, fail(ErrInvalid, "%q is the base meter", id))
					continue
				}
				lookup(i, id, mn.subtract[s], path)
			}
		}
	}

	// Cycles: depth-first search; each back edge is one cycle, reported at
	// the reference that closes it.
	const (
		unvisited = iota
		active
		done
	)
	state := make([]int, len(meters))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = active
		stack = append(stack, i)
		for _, r := range refs[i] {
			switch state[r.to] {
			case unvisited:
				visit(r.to)
			case active:
				var ids []string
				for k := len(stack) - 1; k >= 0; k-- {
					if stack[k] == r.to {
						for _, s := range stack[k:] {
							ids = append(ids, meters[s].ID)
						}
						break
					}
				}
				ids = append(ids, meters[r.to].ID)
				p.fail(r.node, r.path, fail(ErrCycle, "meter dependency cycle: %s", strings.Join(ids, " -> ")))
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i := range meters {
		if state[i] == unvisited {
			visit(i)
		}
	}

	// Units. A virtual meter without output_unit has its base meter's unit;
	// resolving may recurse through virtual meters, and cycles give "".
	unit := make([]string, len(meters))
	resolving := make([]bool, len(meters))
	var unitOf func(i int) string
	unitOf = func(i int) string {
		m := meters[i]
		if m.Type != TypeVirtual || m.OutputUnit != "" || nodes[i].outputUnit != nil {
			return m.OutputUnit
		}
		if unit[i] != "" || resolving[i] {
			return unit[i]
		}
		if j, ok := byID[m.BaseMeter]; ok {
			resolving[i] = true
			unit[i] = unitOf(j)
			resolving[i] = false
		}
		return unit[i]
	}
	for i := range meters {
		unit[i] = unitOf(i)
	}
	for i := range meters {
		m, mn := &meters[i], nodes[i]
		switch m.Type {
		case TypeMaster:
			for k, per := range m.Periods {
				for s, id := range per.SourceMeters {
					j, ok := byID[id]
					if !ok || unit[j] == "" || per.SourceUnit == "" || unit[j] == per.SourceUnit {
						continue
					}
					path := indexPath(keyPath(mn.periods[k].path, "source_meters"), s)
					p.fail(mn.periods[k].sources[s], path, fail(ErrUnit, "%q is in %s, but the period's source_unit is %s", id, unit[j], per.SourceUnit))
				}
			}
		case TypeVirtual:
			b, ok := byID[m.BaseMeter]
			if !ok || unit[b] == "" {
				continue
			}
			ub := unit[b]
			if m.OutputUnit == "" && mn.outputUnit == nil {
				m.OutputUnit = ub
			} else if m.OutputUnit != "" && m.OutputUnit != ub {
				p.fail(mn.outputUnit, keyPath(mn.path, "output_unit"), fail(ErrUnit, "%s, but base meter %q is in %s (a virtual meter keeps its base meter's unit)", m.OutputUnit, m.BaseMeter, ub))
			}
			for s, id := range m.SubtractMeters {
				j, ok := byID[id]
				if !ok || id == m.BaseMeter {
					continue
				}
				us := unit[j]
				conv, has := m.SubtractMeterConversions[id]
				cp := keyPath(keyPath(mn.path, "subtract_meter_conversions"), id)
				switch {
				case has:
					if us != "" && conv.FromUnit != us {
						p.fail(mn.convKey[id], keyPath(cp, "from_unit"), fail(ErrUnit, "%s, but %q is in %s", conv.FromUnit, id, us))
					}
					if conv.ToUnit != ub {
						p.fail(mn.convTo[id], keyPath(cp, "to_unit"), fail(ErrUnit, "%s, but base meter %q is in %s", conv.ToUnit, m.BaseMeter, ub))
					}
				case mn.convFrom[id] != nil:
					// A conversion was given but is invalid; already reported.
				case us != "" && us != ub:
					path := indexPath(keyPath(mn.path, "subtract_meters"), s)
					p.fail(mn.subtract[s], path, fail(ErrUnit, "%q is in %s, but base meter %q is in %s (add it to subtract_meter_conversions)", id, us, m.BaseMeter, ub))
				}
			}
		}
	}
}

func validID(s string) bool {
	if strings.TrimSpace(s) == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '/' || r == '+' || r == '#' {
			return false
		}
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r == '\u00a0' || r == '\u2028' || r == '\u2029' })
}

func hasKey(es []entry, name string) bool {
	return valueOf(es, name) != nil
}

// valueOf returns the non-null value of key name, or nil.
func valueOf(es []entry, name string) *yaml.Node {
	for _, e := range es {
		if e.name == name && !isNull(e.val) {
			return e.val
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
