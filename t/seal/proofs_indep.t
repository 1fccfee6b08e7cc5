#!/usr/bin/perl
#
# proofs_indep.t
#   Inclusion proofs for every leaf of every tree from 1 to 64 leaves, and
#   consistency proofs for every pair of those sizes, produced by the
#   extension and checked by an independent RFC 9162 implementation in
#   Perl (core Digest::SHA): leaf hashes recomputed from the canonical
#   rows, roots recomputed from the leaves and compared with the signed
#   checkpoints (whose Ed25519 signatures are checked with the openssl
#   command line), proofs compared with the naive recursive definitions
#   and verified with the RFC's iterative algorithms.
#
# Copyright (c) 2026, govledger contributors

use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256);
use MIME::Base64 qw(decode_base64 encode_base64);
use JSON::PP;
use File::Temp qw(tempdir);
use FindBin;
use lib "$FindBin::Bin/../lib";
use GovTest;

my $N = 64;
my $log = "indep-$$";
my $tbl = "seal_indep_$$";
my $tmp = tempdir('indep-XXXXXX', DIR => $ENV{GOVLEDGER_TMP} // '/tmp', CLEANUP => 1);

GovTest::psql(qq{SELECT govledger.create_log('$log')});
GovTest::psql(qq{CREATE TABLE $tbl (id int PRIMARY KEY, note text, amount numeric);
	SELECT govledger.protect('$tbl', '$log')});
# one row and one seal per transaction: a block at every size 1..N
GovTest::psql(qq{DO \$\$ BEGIN FOR i IN 1..$N LOOP
	INSERT INTO $tbl VALUES (i, 'note ' || i || ' caf\xc3\xa9', i * 1.25);
	PERFORM govledger.seal('$log');
	COMMIT; END LOOP; END \$\$});

my $json = JSON::PP->new;
my @rows = split /\n/, GovTest::psql(qq{SELECT id, ledger_entry_id, encode(convert_to(govledger.canonical('$tbl', ledger_entry_id), 'UTF8'), 'hex')
	FROM $tbl ORDER BY id}, sep => '|');
is(scalar @rows, $N, "$N rows");
my (@entry, @leaf);
for my $r (@rows) {
    my ($id, $e, $hex) = split /\|/, $r;
    $entry[$id - 1] = $e;
    $leaf[$id - 1] = sha256("\x00" . pack('H*', $hex));
}

sub node { sha256("\x01" . $_[0] . $_[1]) }
sub split_point { my $n = shift; my $k = 1; $k <<= 1 while $k < $n - $k; $k }
sub mth {
    my ($s, $e) = @_;
    return sha256('') if $e == $s;
    return $leaf[$s] if $e - $s == 1;
    my $k = split_point($e - $s);
    return node(mth($s, $s + $k), mth($s + $k, $e));
}
sub path {
    my ($m, $s, $e) = @_;
    return () if $e - $s <= 1;
    my $k = split_point($e - $s);
    return $m - $s < $k ? (path($m, $s, $s + $k), mth($s + $k, $e)) : (path($m, $s + $k, $e), mth($s, $s + $k));
}
sub subproof {
    my ($m, $s, $e, $b) = @_;
    return $b ? () : (mth($s, $e)) if $m == $e - $s;
    my $k = split_point($e - $s);
    return $m <= $k ? (subproof($m, $s, $s + $k, $b), mth($s + $k, $e))
                    : (subproof($m - $k, $s + $k, $e, 0), mth($s, $s + $k));
}
# RFC 9162 2.1.3.2
sub verify_inclusion {
    my ($idx, $size, $h, $root, @p) = @_;
    return 0 if $idx >= $size;
    my ($fn, $sn, $r) = ($idx, $size - 1, $h);
    for my $x (@p) {
        return 0 if $sn == 0;
        if (($fn & 1) || $fn == $sn) {
            $r = node($x, $r);
            unless ($fn & 1) { do { $fn >>= 1; $sn >>= 1 } while (!($fn & 1) && $fn != 0) }
        } else { $r = node($r, $x) }
        $fn >>= 1; $sn >>= 1;
    }
    return $sn == 0 && $r eq $root;
}
# RFC 9162 2.1.4.2
sub verify_consistency {
    my ($m, $n, $r1, $r2, @p) = @_;
    return (!@p && $r1 eq $r2) if $m == $n;
    return !@p if $m == 0;
    return 0 unless @p;
    unshift @p, $r1 if ($m & ($m - 1)) == 0;
    my ($fn, $sn) = ($m - 1, $n - 1);
    while ($fn & 1) { $fn >>= 1; $sn >>= 1 }
    my $fr = my $sr = shift @p;
    for my $c (@p) {
        return 0 if $sn == 0;
        if (($fn & 1) || $fn == $sn) {
            $fr = node($c, $fr); $sr = node($c, $sr);
            unless ($fn & 1) { do { $fn >>= 1; $sn >>= 1 } while (!($fn & 1) && $fn != 0) }
        } else { $sr = node($sr, $c) }
        $fn >>= 1; $sn >>= 1;
    }
    return $fr eq $r1 && $sr eq $r2 && $sn == 0;
}

# checkpoints: one per size, signature checked with openssl, root recomputed
my $vkey = GovTest::psql(qq{SELECT govledger.verifier_key('$log')});
my ($kname, $kid, $kb64) = $vkey =~ /^([^+]+)\+([0-9a-f]{8})\+(.+)$/ or die "bad key $vkey";
my $kbytes = decode_base64($kb64);
is(length $kbytes, 33, 'Ed25519 verifier key');
is(unpack('H8', sha256("$kname\n" . $kbytes)), $kid, 'key ID = SHA-256(name || 0x0A || 0x01 || key)[:4]');
open(my $pf, '>', "$tmp/pub.pem") or die;
print $pf "-----BEGIN PUBLIC KEY-----\n", encode_base64(pack('H*', '302a300506032b6570032100') . substr($kbytes, 1)), "-----END PUBLIC KEY-----\n";
close $pf;

my %root;
my ($sigok, $rootok) = (1, 1);
for my $line (split /\n/, GovTest::psql(qq{SELECT b.tree_size, encode(convert_to(b.checkpoint, 'UTF8'), 'hex')
	FROM govledger.block b JOIN govledger.log l USING (log_id) WHERE l.name = '$log' ORDER BY 1}, sep => '|')) {
    my ($size, $hex) = split /\|/, $line;
    my $note = pack('H*', $hex);
    my ($text, $sigline) = $note =~ /\A(.*\n)\n(\x{e2}\x{80}\x{94} .*\n)\z/s or do { $sigok = 0; next };
    my ($origin, $sz, $r64) = split /\n/, $text;
    my ($name, $b64) = $sigline =~ /^\x{e2}\x{80}\x{94} (\S+) (\S+)\n$/;
    my $sig = decode_base64($b64);
    $sigok = 0 unless $origin eq $log && $sz == $size && $name eq $log && substr($sig, 0, 4) eq pack('H8', $kid);
    open(my $t, '>:raw', "$tmp/text") or die; print $t $text; close $t;
    open(my $s, '>:raw', "$tmp/sig") or die; print $s substr($sig, 4); close $s;
    $sigok = 0 if system("openssl pkeyutl -verify -pubin -inkey '$tmp/pub.pem' -rawin -in '$tmp/text' -sigfile '$tmp/sig' >/dev/null 2>&1") != 0;
    $root{$size} = decode_base64($r64);
    $rootok = 0 unless $root{$size} eq mth(0, $size);
}
# (the background sealer may also have signed the empty tree first)
is(scalar(grep { exists $root{$_} } 1 .. $N), $N, "a checkpoint at every size 1..$N");
ok($sigok, 'every checkpoint is a well-formed note with a valid Ed25519 signature (openssl)');
ok($rootok, 'every checkpoint root equals the root recomputed from the canonical rows');

# all inclusion proofs in one query
my ($incl, $incl_ok, $incl_same, $incl_neg) = (0, 1, 1, 1);
for my $line (split /\n/, GovTest::psql(qq{SELECT s, i, govledger.inclusion_proof('$tbl', e, s)
	FROM generate_series(1, $N) s, LATERAL (SELECT ledger_entry_id AS e, id - 1 AS i FROM $tbl WHERE id <= s) x}, sep => '|')) {
    my ($size, $i, $j) = split /\|/, $line, 3;
    my $p = $json->decode($j);
    my @proof = map { pack('H*', $_) } @{ $p->{proof} };
    $incl++;
    $incl_ok = 0 unless $p->{leaf_index} == $i && $p->{tree_size} == $size
        && $p->{leaf_hash} eq unpack('H*', $leaf[$i])
        && verify_inclusion($i, $size, $leaf[$i], $root{$size}, @proof);
    my @want = path($i, 0, $size);
    $incl_same = 0 unless join('', @want) eq join('', @proof);
    $incl_neg = 0 if $size > 1 && verify_inclusion(($i + 1) % $size, $size, $leaf[$i], $root{$size}, @proof);
}
is($incl, $N * ($N + 1) / 2, "inclusion proofs for every leaf of every tree size (" . $N * ($N + 1) / 2 . ")");
ok($incl_ok, 'every inclusion proof verifies independently against the signed root');
ok($incl_same, 'every inclusion proof equals the RFC 9162 PATH');
ok($incl_neg, 'no proof verifies for a neighbouring index');

my ($cons, $cons_ok, $cons_same, $cons_neg) = (0, 1, 1, 1);
for my $line (split /\n/, GovTest::psql(qq{SELECT m, n, govledger.consistency_proof(m, n, '$log')
	FROM generate_series(1, $N) n, generate_series(1, n) m}, sep => '|')) {
    my ($m, $n, $j) = split /\|/, $line, 3;
    my $p = $json->decode($j);
    my @proof = map { pack('H*', $_) } @{ $p->{proof} };
    $cons++;
    $cons_ok = 0 unless $p->{old_size} == $m && $p->{new_size} == $n
        && verify_consistency($m, $n, $root{$m}, $root{$n}, @proof);
    my @want = $m < $n ? subproof($m, 0, $n, 1) : ();
    $cons_same = 0 unless join('', @want) eq join('', @proof);
    $cons_neg = 0 if $m < $n && $m > 1 && verify_consistency($m, $n, $root{$m - 1}, $root{$n}, @proof);
}
is($cons, $N * ($N + 1) / 2, 'consistency proofs for every size pair');
ok($cons_ok, 'every consistency proof verifies independently between the signed roots');
ok($cons_same, 'every consistency proof equals the RFC 9162 PROOF');
ok($cons_neg, 'no consistency proof verifies against the wrong old root');

done_testing();
