package mqtt

import (
	"fmt"
	"strings"
)

// meterPlaceholder marks the topic level that names the meter in
// Subscription.MeterFromTopic.
const meterPlaceholder = "{meter}"

// validateFilter checks a subscription topic filter against the MQTT 3.1.1
// rules (section 4.7.1): '+' and '#' fill a whole level and '#' is last.
func validateFilter(filter string) error {
	if filter == "" {
		return fmt.Errorf("empty: %w", ErrInvalidFilter)
	}
	if len(filter) > 65535 || strings.ContainsRune(filter, 0) {
		return fmt.Errorf("%q: %w", filter, ErrInvalidFilter)
	}
	levels := strings.Split(filter, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return fmt.Errorf("%q: '#' must be the last level: %w", filter, ErrInvalidFilter)
		case l != "#" && l != "+" && strings.ContainsAny(l, "+#"):
			return fmt.Errorf("%q: a wildcard must fill a whole level: %w", filter, ErrInvalidFilter)
		}
	}
	return nil
}

// matchTopic reports whether topic matches filter, with MQTT's wildcards.
// Topics starting with '$' (broker internals) are never matched by a filter
// that starts with a wildcard (MQTT 3.1.1 section 4.7.2).
func matchTopic(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		f, frest, fmore := strings.Cut(filter, "/")
		t, trest, tmore := strings.Cut(topic, "/")
		switch {
		case f == "#":
			return true
		case f != "+" && f != t:
			return false
		case !fmore && !tmore:
			return true
		case !fmore:
			return false
		case !tmore:
			// "a/#" also matches "a" (the parent level).
			return frest == "#"
		}
		filter, topic = frest, trest
	}
}

// meterTemplate takes a meter id from a topic. It has the shape of a topic
// filter in which exactly one whole level is "{meter}".
type meterTemplate struct {
	levels []string
	at     int // index of the {meter} level
}

func parseMeterTemplate(tpl string) (meterTemplate, error) {
	levels := strings.Split(tpl, "/")
	at := -1
	for i, l := range levels {
		switch {
		case l == meterPlaceholder:
			if at >= 0 {
				return meterTemplate{}, fmt.Errorf("%q: %s appears twice: %w", tpl, meterPlaceholder, ErrInvalidOption)
			}
			at = i
		case strings.Contains(l, "{") || strings.Contains(l, "}"):
			return meterTemplate{}, fmt.Errorf("%q: %s must fill a whole level: %w", tpl, meterPlaceholder, ErrInvalidOption)
		}
	}
	if at < 0 {
		return meterTemplate{}, fmt.Errorf("%q: no %s level: %w", tpl, meterPlaceholder, ErrInvalidOption)
	}
	if err := validateFilter(strings.Join(filterLevels(levels, at), "/")); err != nil {
		return meterTemplate{}, err
	}
	return meterTemplate{levels: levels, at: at}, nil
}

// filter is the subscription filter the template stands for: its {meter}
// level becomes '+'.
func (m meterTemplate) filter() string {
	return strings.Join(filterLevels(m.levels, m.at), "/")
}

func filterLevels(levels []string, at int) []string {
	out := append([]string(nil), levels...)
	out[at] = "+"
	return out
}

// meter returns the level of topic that the template marks as the meter.
func (m meterTemplate) meter(topic string) (string, error) {
	if !matchTopic(m.filter(), topic) {
		return "", fmt.Errorf("topic %q, template %q: %w", topic, strings.Join(m.levels, "/"), ErrTopicMismatch)
	}
	levels := strings.Split(topic, "/")
	if m.at >= len(levels) || levels[m.at] == "" {
		return "", fmt.Errorf("topic %q has an empty meter level: %w", topic, ErrTopicMismatch)
	}
	return levels[m.at], nil
}
