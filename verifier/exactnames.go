package verifier

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// checkExactNames refuses a payload with a member, at any depth, whose
// name matches a JSON field name of t (or of any type reachable from t)
// only ignoring case. encoding/json matches names that way when no member
// matches exactly, so "EMAIL" would fill a field tagged "email"; refusing
// the payload keeps Decode as exact as Verify. The check is deliberately
// coarse (a name is compared with every field name reachable from t, not
// just those of the object it sits in): it may refuse a payload that
// would have decoded exactly, never the reverse.
func checkExactNames(payload string, t reflect.Type) error {
	fields := map[string]struct{}{}
	collectFieldNames(t, fields, map[reflect.Type]bool{})
	if len(fields) == 0 {
		return nil
	}
	r := jsonReader{s: payload}
	var bad string
	walkNames(&r, 0, func(name string) {
		if _, exact := fields[name]; exact || bad != "" {
			return
		}
		for f := range fields {
			if strings.EqualFold(f, name) {
				bad = fmt.Sprintf("verifier: claim %s matches field %q only ignoring case", quoteDetail(name), f)
				return
			}
		}
	})
	if r.err != "" {
		return errors.New("verifier: payload: " + r.err)
	}
	if bad != "" {
		return errors.New(bad)
	}
	return nil
}

// collectFieldNames adds the names encoding/json would match against the
// fields of t and of every type it contains.
func collectFieldNames(t reflect.Type, names map[string]struct{}, seen map[reflect.Type]bool) {
	if t == nil || seen[t] {
		return
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		collectFieldNames(t.Elem(), names, seen)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() && !f.Anonymous {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if name == "" {
				name = f.Name
			}
			names[name] = struct{}{}
			collectFieldNames(f.Type, names, seen)
		}
	}
}

// walkNames validates the value at r and calls visit with every member
// name in it, at any depth.
func walkNames(r *jsonReader, depth int, visit func(string)) {
	switch r.peek() {
	case '{':
		if depth >= maxJSONDepth {
			r.fail("nested too deeply")
			return
		}
		var o object
		for name, ok := r.member(&o); ok; name, ok = r.member(&o) {
			visit(name)
			walkNames(r, depth+1, visit)
		}
	case '[':
		if depth >= maxJSONDepth {
			r.fail("nested too deeply")
			return
		}
		var started bool
		for r.element(&started) {
			walkNames(r, depth+1, visit)
		}
	default:
		r.skip(depth)
	}
}
