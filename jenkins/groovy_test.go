package jenkins_test

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Just enough of a Groovy lexer to find a Jenkinsfile's stages and the
// scripts of its sh steps: comments, the four string forms (with Groovy's
// escapes and GString interpolation), identifiers, punctuation and newlines.

type tokKind int

const (
	tIdent tokKind = iota
	tString
	tPunct
	tNewline
	tOther
)

type token struct {
	kind tokKind
	text string // identifier, punctuation, or a string's value
	line int
	// strings only
	quote  string // ', ''', " or """
	interp bool   // a GString with ${...} or $name interpolation
}

// interpolated stands in for a GString interpolation in a shell script:
// Groovy substitutes a value before the shell sees it.
const interpolated = "GROOVY_VALUE"

func lexGroovy(src string) ([]token, error) {
	var toks []token
	line := 1
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			toks = append(toks, token{kind: tNewline, text: "\n", line: line})
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated comment", line)
			}
			line += strings.Count(src[i:i+2+end+2], "\n")
			i += 2 + end + 2
		case c == '\'' || c == '"':
			q := string(c)
			if strings.HasPrefix(src[i:], strings.Repeat(q, 3)) {
				q = strings.Repeat(q, 3)
			}
			val, interp, n, err := lexString(src[i+len(q):], q)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			toks = append(toks, token{kind: tString, text: val, line: line, quote: q, interp: interp})
			line += strings.Count(src[i:i+len(q)+n], "\n")
			i += len(q) + n
		case c == '_' || c == '$' || unicode.IsLetter(rune(c)):
			j := i
			for j < len(src) && (src[j] == '_' || src[j] == '$' || unicode.IsLetter(rune(src[j])) || unicode.IsDigit(rune(src[j]))) {
				j++
			}
			toks = append(toks, token{kind: tIdent, text: src[i:j], line: line})
			i = j
		case strings.ContainsRune("{}()[],:.", rune(c)):
			toks = append(toks, token{kind: tPunct, text: string(c), line: line})
			i++
		default:
			toks = append(toks, token{kind: tOther, text: string(c), line: line})
			i++
		}
	}
	return toks, nil
}

// lexString reads a string body after its opening quote q up to the closing
// quote. It returns the value with Groovy's escapes applied (a backslash
// before a newline in a triple-quoted string joins the lines), whether it is
// an interpolating GString (interpolations replaced by `interpolated`), and
// how many bytes it consumed including the closing quote.
func lexString(s, q string) (val string, interp bool, n int, err error) {
	gstring := q[0] == '"'
	multi := len(q) == 3
	var b strings.Builder
	i := 0
	for {
		if i >= len(s) {
			return "", false, 0, fmt.Errorf("unterminated %s string", q)
		}
		if strings.HasPrefix(s[i:], q) {
			return b.String(), interp, i + len(q), nil
		}
		c := s[i]
		switch {
		case c == '\n' && !multi:
			return "", false, 0, fmt.Errorf("newline in a %s string", q)
		case c == '\\':
			if i+1 >= len(s) {
				return "", false, 0, fmt.Errorf("backslash at the end of the file")
			}
			e := s[i+1]
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 's':
				b.WriteByte(' ')
			case '\\', '\'', '"', '$':
				b.WriteByte(e)
			case '\n':
				if !multi {
					return "", false, 0, fmt.Errorf("line continuation outside a triple-quoted string")
				}
			case 'u':
				if i+6 > len(s) {
					return "", false, 0, fmt.Errorf(`short \u escape`)
				}
				r, perr := strconv.ParseUint(s[i+2:i+6], 16, 32)
				if perr != nil {
					return "", false, 0, fmt.Errorf(`bad \u escape %q`, s[i:i+6])
				}
				b.WriteRune(rune(r))
				i += 4
			default:
				return "", false, 0, fmt.Errorf(`unknown escape \%c: Groovy would not compile it`, e)
			}
			i += 2
		case c == '$' && gstring && i+1 < len(s) && s[i+1] == '{':
			depth, j := 0, i+1
			for ; j < len(s); j++ {
				if s[j] == '{' {
					depth++
				} else if s[j] == '}' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if j >= len(s) {
				return "", false, 0, fmt.Errorf("unterminated ${ in a GString")
			}
			b.WriteString(interpolated)
			interp = true
			i = j + 1
		case c == '$' && gstring && i+1 < len(s) && (s[i+1] == '_' || unicode.IsLetter(rune(s[i+1]))):
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] == '.' || unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j]))) {
				j++
			}
			b.WriteString(interpolated)
			interp = true
			i = j
		case c == '$' && gstring:
			return "", false, 0, fmt.Errorf("bare $ in a GString: escape it as \\$")
		default:
			b.WriteByte(c)
			i++
		}
	}
}

// shStep is one `sh` step found in a Jenkinsfile.
type shStep struct {
	line   int
	script string
	quote  string
	interp bool
	stage  string   // innermost enclosing stage('...'), or "post"
	blocks []string // names of the enclosing blocks, outermost first
}

// stageNames returns every stage('Name') in order.
func stageNames(toks []token) []string {
	var out []string
	for i := 0; i+3 < len(toks); i++ {
		if toks[i].kind == tIdent && toks[i].text == "stage" && toks[i+1].text == "(" &&
			toks[i+2].kind == tString && toks[i+3].text == ")" {
			out = append(out, toks[i+2].text)
		}
	}
	return out
}

// shSteps finds every sh step: `sh 'x'`, `sh('x')`, `sh(script: 'x', ...)`,
// `sh label: 'l', script: 'x'`, with the blocks that enclose it.
func shSteps(toks []token) ([]shStep, error) {
	type frame struct{ name, arg string }
	var stack []frame
	var steps []shStep
	head, headArg := "", "" // first identifier of the current statement, and its first string argument
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == tNewline || (t.kind == tPunct && (t.text == "{" || t.text == "}")):
			if t.text == "{" {
				stack = append(stack, frame{head, headArg})
			} else if t.text == "}" {
				if len(stack) == 0 {
					return nil, fmt.Errorf("line %d: unbalanced }", t.line)
				}
				stack = stack[:len(stack)-1]
			}
			if t.kind != tNewline || !continues(toks, i) {
				head, headArg = "", ""
			}
			continue
		case head == "" && t.kind == tIdent:
			head = t.text
		case head != "" && headArg == "" && t.kind == tString:
			headArg = t.text
		}
		if t.kind != tIdent || t.text != "sh" || (i > 0 && toks[i-1].text == ".") {
			continue
		}
		script, ok := shScript(toks, i+1)
		if !ok {
			return nil, fmt.Errorf("line %d: sh step whose script is not a string literal", t.line)
		}
		st := shStep{line: script.line, script: script.text, quote: script.quote, interp: script.interp}
		for _, f := range stack {
			st.blocks = append(st.blocks, f.name)
			if f.name == "stage" {
				st.stage = f.arg
			} else if f.name == "post" {
				st.stage = "post"
			}
		}
		steps = append(steps, st)
	}
	if len(stack) != 0 {
		return nil, fmt.Errorf("unbalanced {: %d left open", len(stack))
	}
	return steps, nil
}

// continues reports whether the statement goes on past the newline at i
// (an open parenthesis or bracket, or a trailing comma).
func continues(toks []token, i int) bool {
	depth := 0
	for j := i - 1; j >= 0; j-- {
		switch toks[j].text {
		case "(", "[":
			depth++
		case ")", "]":
			depth--
		case "{", "}":
			return depth > 0
		}
		if depth > 0 {
			return true
		}
	}
	return false
}

// shScript finds the script string of an sh step whose arguments start at i.
func shScript(toks []token, i int) (token, bool) {
	paren := i < len(toks) && toks[i].text == "("
	if paren {
		i++
	}
	if i < len(toks) && toks[i].kind == tString && !(i+1 < len(toks) && toks[i+1].text == ":") {
		return toks[i], true // positional script
	}
	// Named arguments: look for script: '...' within this call.
	depth := 0
	for j := i; j+2 < len(toks); j++ {
		switch toks[j].text {
		case "(", "[":
			depth++
		case ")", "]":
			depth--
		}
		if depth < 0 || (!paren && toks[j].kind == tNewline && !strings.HasSuffix(prevText(toks, j), ",")) {
			return token{}, false
		}
		if depth == 0 && toks[j].kind == tIdent && toks[j].text == "script" && toks[j+1].text == ":" && toks[j+2].kind == tString {
			return toks[j+2], true
		}
	}
	return token{}, false
}

func prevText(toks []token, j int) string {
	if j == 0 {
		return ""
	}
	return toks[j-1].text
}
