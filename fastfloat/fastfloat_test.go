package fastfloat

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestParseFloatMatchesStrconv(t *testing.T) {
	inputs := []string{"0", "-0", "+0.0", "1", "-1.5", "123456.789012", "0.1", "0.30000000000000004", "9007199254740993",
		"9007199254740992", "9007199254740991", "900719925474099.3", "1e10", "1E-5", "-2.5e+300", "1e400", "-1e400", "1e-400",
		"4.9e-324", "2.2250738585072011e-308", ".5", "5.", "00012.50", "1234567890123456789", "12345678901234567890",
		"0.0000000000000000000001", "0.00000000000000000000001", "0.0000000000000000000000001", "123.456e7", "inf", "-Infinity",
		"+INF", "NaN", "nan", "0x1p-2", "0x1.8p1", "1_000", "", ".", "-", "+", "1.2.3", "abc", "1e", "--1", " 1", "1 ",
		"-1.234567", "99999999999999999999.5", "1.7976931348623157e308", "1.7976931348623159e308", "0.000001", "1000000000000000000000000"}
	r := rand.New(rand.NewPCG(2, 2))
	for range 20000 {
		inputs = append(inputs, strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(30)-15)), 'f', r.IntN(12), 64))
		inputs = append(inputs, strconv.FormatFloat(r.NormFloat64(), 'g', -1, 64))
		inputs = append(inputs, strconv.FormatUint(r.Uint64()>>uint(r.IntN(64)), 10)+"."+strconv.Itoa(r.IntN(1000000)))
	}
	for _, s := range inputs {
		checkParseFloat(t, s)
	}
}

func checkParseFloat(t *testing.T, s string) {
	t.Helper()
	want, err := strconv.ParseFloat(s, 64)
	wantOK := err == nil || err.(*strconv.NumError).Err == strconv.ErrRange
	got, ok := Parse([]byte(s))
	if ok != wantOK || (ok && math.Float64bits(got) != math.Float64bits(want) && !(got != got && want != want)) {
		t.Fatalf("%q: got %v %v, want %v %v", s, got, ok, want, wantOK)
	}
}

func FuzzParseFloat(f *testing.F) {
	for _, s := range []string{"1.5", "-0", "1e10", "123456789012345678901", "0.1", "9007199254740993", ".5e-22"} {
		f.Add(s)
	}
	f.Fuzz(checkParseFloat)
}

func BenchmarkParseFloat(b *testing.B) {
	cells := make([][]byte, 1024)
	r := rand.New(rand.NewPCG(4, 4))
	for i := range cells {
		cells[i] = strconv.AppendFloat(nil, r.NormFloat64()*100, 'f', 6, 64)
	}
	b.SetBytes(int64(len(cells[0])))
	b.ReportAllocs()
	var s float64
	for i := 0; b.Loop(); i++ {
		v, _ := Parse(cells[i&1023])
		s += v
	}
	_ = s
}
