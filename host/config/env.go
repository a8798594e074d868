package config

import (
	"fmt"
	"strings"
)

// expand replaces ${VAR}, ${VAR:-default} and $$ in s. env nil means an
// empty environment. vars lists every variable s refers to, in order,
// once each, whether or not it is set. Errors name the variable, never a
// value.
func expand(s string, env func(string) (string, bool)) (out string, vars []string, err error) {
	if !strings.Contains(s, "$") {
		return s, nil, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
			continue
		case '{':
		default:
			b.WriteByte(c)
			i++
			continue
		}
		end := closingBrace(s, i+2)
		if end < 0 {
			return "", vars, fmt.Errorf(`unterminated "${"; write $$ for a literal $`)
		}
		body := s[i+2 : end]
		name, def, hasDef := strings.Cut(body, ":-")
		if !validVarName(name) {
			return "", vars, fmt.Errorf("%q is not a valid variable reference; use ${NAME} or ${NAME:-default}, where NAME holds letters, digits and _ and does not start with a digit", "${"+body+"}")
		}
		vars = addVar(vars, name)
		val, ok := "", false
		if env != nil {
			val, ok = env(name)
		}
		switch {
		case ok && (val != "" || !hasDef):
			b.WriteString(val)
		case hasDef:
			d, dvars, err := expand(def, env)
			for _, v := range dvars {
				vars = addVar(vars, v)
			}
			if err != nil {
				return "", vars, err
			}
			b.WriteString(d)
		default:
			return "", vars, fmt.Errorf("environment variable %s is not set (write ${%s:-default} to give a default)", name, name)
		}
		i = end + 1
	}
	return b.String(), vars, nil
}

// closingBrace returns the index of the } closing a ${ whose body starts
// at i, counting nested ${...}, or -1.
func closingBrace(s string, i int) int {
	depth := 0
	for ; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '$':
			i++
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func addVar(vars []string, name string) []string {
	for _, v := range vars {
		if v == name {
			return vars
		}
	}
	return append(vars, name)
}
