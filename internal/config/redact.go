package config

import (
	"reflect"

	"gopkg.in/yaml.v3"
)

// Redacted is the value printed for a secret that is set.
const Redacted = "***"

// Redact returns a copy with every field tagged secret:"true" replaced by
// Redacted when set, so the effective config can be shown without leaking it.
func (c Config) Redact() Config {
	redactStruct(reflect.ValueOf(&c).Elem())
	return c
}

func redactStruct(v reflect.Value) {
	t := v.Type()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.Struct:
			redactStruct(f)
		case t.Field(i).Tag.Get("secret") == "true" && f.Kind() == reflect.String && f.String() != "":
			f.SetString(Redacted)
		case t.Field(i).Tag.Get("secret") == "url" && f.Kind() == reflect.String && f.String() != "":
			f.SetString(redactURL(f.String()))
		case t.Field(i).Tag.Get("secret") == "true" && f.Kind() == reflect.Slice && f.Len() > 0:
			redacted := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
			for j := 0; j < f.Len(); j++ {
				redacted.Index(j).SetString(Redacted)
			}
			f.Set(redacted)
		case t.Field(i).Tag.Get("secret") == "true" && f.Kind() == reflect.Map && f.Len() > 0:
			// Keys (header names) are shown; values are the secrets.
			redacted := reflect.MakeMapWithSize(f.Type(), f.Len())
			for _, k := range f.MapKeys() {
				redacted.SetMapIndex(k, reflect.ValueOf(Redacted))
			}
			f.Set(redacted)
		}
	}
}

// YAML renders the config with its koanf key names and durations as strings
// (e.g. "5s"), in the same shape a config file takes.
func (c Config) YAML() ([]byte, error) {
	return yaml.Marshal(toMap(reflect.ValueOf(c)))
}

func toMap(v reflect.Value) map[string]any {
	out := map[string]any{}
	t := v.Type()
	for i := 0; i < v.NumField(); i++ {
		name := t.Field(i).Tag.Get("koanf")
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.Struct:
			out[name] = toMap(f)
		case f.Type().String() == "time.Duration":
			out[name] = f.Interface().(interface{ String() string }).String()
		default:
			out[name] = f.Interface()
		}
	}
	return out
}
