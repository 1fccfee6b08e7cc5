#!/usr/bin/perl
#
# leaf_recompute.t: an implementation of canonical encoding version 1
# (docs/canonical-encoding.md) written from the document alone, with core
# Perl only (JSON::PP, Digest::SHA, MIME::Base64, Encode).  It exports
# ledger rows with plain SQL -- every column (and array element) as its
# type's ordinary text output, concat(value), under fixed, documented
# session settings -- rebuilds the canonical
# bytes, hashes them, and must match the extension's leaf for every row
# and every supported type.  An SM3 ledger is checked with openssl dgst.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use Encode qw(encode decode);
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Test::More;
use GovTest;

# the settings under which the text forms below are parsed
my $SETTINGS = q{
	SET TimeZone = 'UTC';
	SET DateStyle = 'ISO, YMD';
	SET IntervalStyle = 'iso_8601';
	SET extra_float_digits = 1;
	SET bytea_output = 'hex';
};

GovTest::psql(q{
	CREATE TABLE indep_all (
		i2 int2, i4 int4, i8 int8, num numeric, f4 float4, f8 float8, b bool,
		t text, vc varchar(20), c char(4), u uuid, d date, ts timestamp,
		tstz timestamptz, iv interval, by bytea, j jsonb,
		ai int4[], at text[], an numeric[], af float8[], atz timestamptz[],
		ad date[], aiv interval[], aj jsonb[], aby bytea[], ab bool[],
		"Name with ""quotes"" é" text
	);
	SELECT govledger.protect('indep_all');
	SELECT govledger.create_log('indep_sm3', 'sm3');
	CREATE TABLE indep_sm3 (id int, v text, j jsonb);
	SELECT govledger.protect('indep_sm3', 'indep_sm3');
});

# rows covering the edge cases of every type; each is inserted as it is
my @rows = (
	q{(i2, i4, i8) VALUES (-32768, 2147483647, -9223372036854775808)},
	q{(i2, i4, i8) VALUES (0, -1, 9007199254740993)},
	q{(num) VALUES ('12.50')}, q{(num) VALUES ('-0.000')}, q{(num) VALUES ('NaN')},
	q{(num) VALUES ('-Infinity')}, q{(num) VALUES ('123456789012345678901234567890.000000001')},
	q{(f8, f4) VALUES (0.1, 0.1)}, q{(f8, f4) VALUES ('-0', '-0')},
	q{(f8, f4) VALUES ('NaN', 'Infinity')}, q{(f8, f4) VALUES ('-Infinity', 3.4028235e38)},
	q{(f8) VALUES (1e15)}, q{(f8) VALUES (0.00001)}, q{(f8) VALUES (5e-324)},
	q{(f8) VALUES (1.7976931348623157e308)}, q{(f8) VALUES (-123.456)}, q{(f4) VALUES (1.17549435e-38)},
	q{(b) VALUES (true)}, q{(b) VALUES (false)},
	q{(t) VALUES (E'a"b\\\\c\t\n\r\b\f\x01\x1f\x7f/ caf\u00e9 \u2028 \U0001F600 e\u0301')},
	q{(t, vc, c) VALUES ('', 'varchar', 'ab')},
	q{(t) VALUES (repeat('long ', 3000))},
	q{(u) VALUES ('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')},
	q{(d) VALUES ('2024-02-29')}, q{(d) VALUES ('0001-01-01 BC')}, q{(d) VALUES ('0044-03-15 BC')},
	q{(d) VALUES ('12345-06-07')}, q{(d) VALUES ('infinity')}, q{(d) VALUES ('-infinity')},
	q{(ts) VALUES ('2024-01-02 03:04:05')}, q{(ts) VALUES ('2024-01-02 03:04:05.5')},
	q{(ts) VALUES ('4713-01-01 00:00:00 BC')}, q{(ts) VALUES ('infinity')},
	q{(tstz) VALUES ('2024-01-02 03:04:05.123456+02')}, q{(tstz) VALUES ('2024-06-30 23:59:59.999999-10:30')},
	q{(tstz) VALUES ('-infinity')}, q{(tstz) VALUES ('0300-02-28 12:00:00 BC')},
	q{(iv) VALUES ('1 year 2 months 3 days 04:05:06.5')}, q{(iv) VALUES ('-1 day -00:00:00.5')},
	q{(iv) VALUES ('0')}, q{(iv) VALUES ('-1 mon 48 hours')}, q{(iv) VALUES ('-3 years 25:00:00.000001')},
	q{(by) VALUES ('\x')}, q{(by) VALUES ('\x00ff10')}, q{(by) VALUES ('\xfbff')}, q{(by) VALUES ('\x61')},
	q{(j) VALUES ('{"b":1.10,"aa":[1,null,"x",true,false],"a":{}}')},
	q{(j) VALUES ('{"n":1.0E+2,"m":0.00001,"k":-0,"big":123456789012345678901234567890.5,"neg":-12.300}')},
	q{(j) VALUES (E'{"\uff61":1,"\U0001F600":2,"z\\\\n":"\\\\u0001\\\\t\\\\"q\\\\""}')},
	q{(j) VALUES ('"scalar"')}, q{(j) VALUES ('null')}, q{(j) VALUES ('[[],{},[{"z":1,"y":[2]}]]')},
	q{(j) VALUES ('12.3400')},
	q{(ai, at, an, af) VALUES ('{1,NULL,3}', '{"a\"b",NULL,"",","}', '{1.50,NaN}', '{1e-7,-0,NaN,Infinity}')},
	q{(ai, atz, ad) VALUES ('{}', '{"2024-01-01 00:00:00+00",infinity}', '{2024-01-01,NULL,0001-01-01 BC}')},
	q{(aiv, aj, aby, ab) VALUES ('{"1 day",-00:00:01}', ARRAY['{"b":1,"a":2}'::jsonb, NULL, 'null'], '{"\\\\x00",NULL}', '{t,f,NULL}')},
	q{("Name with ""quotes"" é", i4) VALUES ('odd column name', 1)},
	q{DEFAULT VALUES},
);
for my $r (@rows)
{
	GovTest::psql("INSERT INTO indep_all $r");
}
GovTest::psql(q{
	SELECT set_config('request.jwt.claims', '{"sub":"citizen \"7\" é","role":"citizen"}', false);
	INSERT INTO indep_all (t) VALUES ('with subject');
	INSERT INTO indep_sm3 VALUES (1, 'sm3 row', '{"k":[1.50]}'), (2, NULL, NULL);
});

# ---- the canonical encoding, from docs/canonical-encoding.md ----

my %short = ("\x08" => '\b', "\x09" => '\t', "\x0a" => '\n', "\x0c" => '\f',
			 "\x0d" => '\r', '"' => '\"', '\\' => '\\\\');

# a JSON string in JCS form, from a Perl character string
sub jstr
{
	my ($s) = @_;
	$s =~ s/(["\\\x00-\x1f])/$short{$1} \/\/ sprintf('\u%04x', ord($1))/ge;
	return qq{"$s"};
}

sub utf16_cmp { encode('UTF-16BE', $_[0]) cmp encode('UTF-16BE', $_[1]) }

sub year_text
{
	my ($y) = @_;
	return sprintf('%04d', $y) if $y >= 0 && $y <= 9999;
	return "+$y" if $y > 9999;
	return sprintf('-%04d', -$y);
}

# date text (DateStyle ISO): "YYYY-MM-DD" with optional " BC"
sub date_canon
{
	my ($t) = @_;
	return jstr($t) if $t eq 'infinity' || $t eq '-infinity';
	my ($y, $m, $d, $bc) = $t =~ /^(\d+)-(\d\d)-(\d\d)( BC)?$/ or die "date $t";
	$y = 1 - $y if $bc;
	return '"' . year_text($y + 0) . "-$m-$d\"";
}

# timestamp text (DateStyle ISO, TimeZone UTC)
sub ts_canon
{
	my ($t, $tz) = @_;
	return jstr($t) if $t eq 'infinity' || $t eq '-infinity';
	my ($y, $mo, $d, $h, $mi, $s, $f, $bc) =
		$t =~ /^(\d+)-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:\+00)?( BC)?$/
		or die "timestamp $t";
	$y = 1 - $y if $bc;
	$f = substr(($f // '') . '000000', 0, 6);
	return '"' . year_text($y + 0) . "-$mo-${d}T$h:$mi:$s.$f" . ($tz ? 'Z' : '') . '"';
}

# decimal seconds text to integer microseconds, exactly
sub usec
{
	my ($s) = @_;
	my ($neg, $int, $frac) = $s =~ /^(-?)(\d+)(?:\.(\d+))?$/ or die "seconds $s";
	my $v = $int * 1_000_000 + substr(($frac // '') . '000000', 0, 6);
	return $neg ? -$v : $v;
}

# interval text (IntervalStyle iso_8601)
sub interval_canon
{
	my ($t) = @_;
	my ($date, $time) = $t =~ /^P([^T]*)(?:T(.*))?$/ or die "interval $t";
	my ($months, $days, $us) = (0, 0, 0);
	while ($date =~ /(-?\d+)([YMWD])/g)
	{
		$months += $1 * 12 if $2 eq 'Y';
		$months += $1 if $2 eq 'M';
		$days += $1 * 7 if $2 eq 'W';
		$days += $1 if $2 eq 'D';
	}
	while (defined $time && $time =~ /(-?[\d.]+)([HMS])/g)
	{
		$us += usec($1) * 3600 if $2 eq 'H';
		$us += usec($1) * 60 if $2 eq 'M';
		$us += usec($1) if $2 eq 'S';
	}
	my $sign = $us < 0 ? '-' : '';
	$us = -$us if $us < 0;
	return sprintf('"P%dM%dDT%s%d.%06dS"', $months, $days, $sign,
				   int($us / 1_000_000), $us % 1_000_000);
}

sub bytea_canon
{
	my ($t) = @_;
	my ($hex) = $t =~ /^\\x([0-9a-f]*)$/ or die "bytea $t";
	my $b64 = encode_base64(pack('H*', $hex), '');
	$b64 =~ tr{+/}{-_};
	$b64 =~ s/=+$//;
	return qq{"$b64"};
}

# jsonb text output, parsed keeping each number's text, re-encoded with
# members in UTF-16 order
sub jsonb_canon
{
	my ($t) = @_;
	my $pos = 0;
	my $v = json_value(\$t, \$pos);
	return $v;
}

sub json_ws { my ($s, $p) = @_; $$p++ while $$p < length($$s) && substr($$s, $$p, 1) =~ /\s/; }

sub json_string
{
	my ($s, $p) = @_;
	substr($$s, $$p) =~ /^"((?:[^"\\]|\\.)*)"/s or die "bad string at $$p";
	$$p += length($&);
	return JSON::PP->new->allow_nonref->decode(qq{"$1"});
}

sub json_value
{
	my ($s, $p) = @_;
	json_ws($s, $p);
	my $c = substr($$s, $$p, 1);
	if ($c eq '{')
	{
		$$p++;
		my %m;
		json_ws($s, $p);
		if (substr($$s, $$p, 1) eq '}') { $$p++; return '{}'; }
		for (;;)
		{
			json_ws($s, $p);
			my $k = json_string($s, $p);
			json_ws($s, $p);
			substr($$s, $$p++, 1) eq ':' or die 'colon';
			$m{$k} = json_value($s, $p);
			json_ws($s, $p);
			my $d = substr($$s, $$p++, 1);
			last if $d eq '}';
			die 'comma' unless $d eq ',';
		}
		return '{' . join(',', map { jstr($_) . ':' . $m{$_} } sort { utf16_cmp($a, $b) } keys %m) . '}';
	}
	if ($c eq '[')
	{
		$$p++;
		my @a;
		json_ws($s, $p);
		if (substr($$s, $$p, 1) eq ']') { $$p++; return '[]'; }
		for (;;)
		{
			push @a, json_value($s, $p);
			json_ws($s, $p);
			my $d = substr($$s, $$p++, 1);
			last if $d eq ']';
			die 'comma' unless $d eq ',';
		}
		return '[' . join(',', @a) . ']';
	}
	return jstr(json_string($s, $p)) if $c eq '"';
	if (substr($$s, $$p) =~ /^(true|false|null|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)/)
	{
		$$p += length($1);
		return $1;
	}
	die "bad json at $$p";
}

my %scalar = (
	int2 => sub { $_[0] }, int4 => sub { $_[0] },
	int8 => \&jstr, numeric => \&jstr, float4 => \&jstr, float8 => \&jstr,
	bool => sub { $_[0] =~ /^t/ ? 'true' : 'false' },
	text => \&jstr, varchar => \&jstr, bpchar => \&jstr, uuid => \&jstr,
	date => \&date_canon,
	timestamp => sub { ts_canon($_[0], 0) }, timestamptz => sub { ts_canon($_[0], 1) },
	interval => \&interval_canon, bytea => \&bytea_canon, jsonb => \&jsonb_canon,
);

sub value_canon
{
	my ($type, $v) = @_;
	if ($type =~ /^_(.*)$/)
	{
		my $elem = $1;
		return '[' . join(',', map { defined $_ ? value_canon($elem, $_) : 'null' } @$v) . ']';
	}
	my $f = $scalar{$type} or die "no encoding for $type";
	return $f->($v);
}

# ---- export with plain SQL and compare ----

sub check_ledger
{
	my ($table, $hasher) = @_;
	my @cols = map { [split /\t/] } split /\n/, decode('UTF-8', GovTest::psql(qq{
		SELECT a.attname, t.typname
		  FROM pg_attribute a
		  JOIN pg_type t ON t.oid = (SELECT coalesce(nullif(d.typbasetype, 0), d.oid) FROM pg_type d WHERE d.oid = a.atttypid)
		 WHERE a.attrelid = '$table'::regclass AND a.attnum > 0 AND NOT a.attisdropped
		   AND a.attname <> 'ledger_entry_id'
		 ORDER BY a.attnum}, sep => "\t"));
	my @exprs = map {
		my ($name, $type) = @$_;
		my $q = '"' . ($name =~ s/"/""/gr) . '"';
		$type =~ /^_/
			? "CASE WHEN r.$q IS NOT NULL THEN coalesce((SELECT json_agg(CASE WHEN e IS NOT NULL THEN concat(e) END ORDER BY o) FROM unnest(r.$q) WITH ORDINALITY u(e, o)), '[]') END"
			: "CASE WHEN r.$q IS NOT NULL THEN concat(r.$q) END"
	} @cols;
	my $sql = encode('UTF-8', $SETTINGS . qq{
		SELECT json_build_object(
			'id', r.ledger_entry_id::text, 'ledger', l.name, 'recorded', e.recorded_at::text,
			'role', e.db_role, 'subject', e.subject,
			'stored', encode(e.leaf_hash, 'hex'),
			'fn', encode(govledger.leaf_hash('$table', r.ledger_entry_id), 'hex'),
			'canonical', govledger.canonical('$table', r.ledger_entry_id),
			'cols', json_build_array(} . join(', ', @exprs) . qq{))
		  FROM $table r
		  JOIN govledger.entry e ON e.entry_id = r.ledger_entry_id
		  JOIN govledger.ledger l ON l.ledger_id = e.ledger_id
		 ORDER BY r.ledger_entry_id});
	my @out = split /\n/, GovTest::psql($sql);
	my $json = JSON::PP->new->utf8;
	my ($n, $bad) = (0, 0);
	for my $line (@out)
	{
		next unless $line =~ /^\{/;
		my $r = $json->decode($line);
		my @members;
		for my $i (0 .. $#cols)
		{
			my $v = $r->{cols}[$i];
			next unless defined $v;
			push @members, [$cols[$i][0], value_canon($cols[$i][1], $v)];
		}
		my $row = '{' . join(',', map { jstr($_->[0]) . ':' . $_->[1] }
							 sort { utf16_cmp($a->[0], $b->[0]) } @members) . '}';
		my $canon = '{"entry":' . jstr($r->{id}) . ',"ledger":' . jstr($r->{ledger})
			. ',"recorded":' . ts_canon($r->{recorded}, 1) . ',"role":' . jstr($r->{role})
			. ',"row":' . $row
			. (defined $r->{subject} ? ',"subject":' . jstr($r->{subject}) : '')
			. ',"v":1}';
		my $bytes = encode('UTF-8', $canon);
		my $leaf = $hasher->("\x00" . $bytes);
		$n++;
		if ($leaf ne $r->{fn} || $leaf ne $r->{stored})
		{
			$bad++;
			diag("entry $r->{id}:\n  mine:      $canon\n  extension: $r->{canonical}")
				if $bad <= 5;
		}
	}
	return ($n, $bad);
}

my ($n, $bad) = check_ledger('indep_all', sub { sha256_hex($_[0]) });
is($n, scalar(@rows) + 1, 'every row of the all-types ledger exported');
is($bad, 0, "every SHA-256 leaf recomputed outside PostgreSQL matches ($n rows)");

my $tmp = $ENV{GOVLEDGER_TMP};
my $sm3 = sub {
	my $f = "$tmp/indep_leaf.bin";
	open(my $fh, '>:raw', $f) or die "$f: $!";
	print $fh $_[0];
	close($fh);
	my $out = `openssl dgst -sm3 -r $f 2>/dev/null`;
	my ($hex) = $out =~ /^([0-9a-f]{64})/;
	return $hex // 'openssl sm3 failed';
};
SKIP: {
	skip 'openssl has no SM3', 2 unless `openssl dgst -sm3 -r /dev/null 2>/dev/null` =~ /^[0-9a-f]{64}/;
	my ($n3, $bad3) = check_ledger('indep_sm3', $sm3);
	is($n3, 2, 'SM3 ledger rows exported');
	is($bad3, 0, 'SM3 leaves recomputed with openssl dgst -sm3 match');
}

GovTest::psql(q{
	SELECT govledger.drop_ledger('indep_all', 'end of independent recomputation test');
	SELECT govledger.drop_ledger('indep_sm3', 'end of independent recomputation test');
});
done_testing();
