#!/usr/bin/perl
#
# verify_cli.t
#   Tests of the offline verifier govledger-verify: receipts are built
#   here from scratch, independently of the C library: Ed25519 keys from
#   the openssl command line, notes signed with `openssl pkeyutl -rawin`,
#   key IDs and RFC 9162 trees and proofs with core Digest::SHA.  A good
#   receipt (and a good consistency check) must verify; every tampered
#   field must be rejected with exit status 1 and a message naming it.
#
# Copyright (c) 2026, govledger contributors

use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64);
use File::Temp qw(tempdir);
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $root = $ENV{GOVLEDGER_ROOT} // abs_path(dirname(__FILE__) . '/../..');
my $bin = $ENV{GOVLEDGER_VERIFY} // "$root/build/bin/govledger-verify";
BAIL_OUT("govledger-verify not built at $bin (make -C pg_extension/tools)") unless -x $bin;
my $tmp = tempdir('verify-cli-XXXXXX', DIR => $ENV{GOVLEDGER_TMP} // '/tmp', CLEANUP => 1);

sub slurp { my ($f) = @_; open my $fh, '<:raw', $f or die "$f: $!"; local $/; return <$fh>; }
sub spit { my ($f, $d) = @_; open my $fh, '>:raw', $f or die "$f: $!"; print $fh $d; close $fh; }
sub b64 { my $s = encode_base64($_[0], ''); return $s; }
sub run_quiet { my $rc = system(@_); return $rc; }

# --- keys -----------------------------------------------------------------

sub new_key {
    my ($name) = @_;
    (my $file = $name) =~ s{[^\w.-]}{_}g;
    my $pem = "$tmp/$file.pem";
    system('openssl', 'genpkey', '-algorithm', 'ed25519', '-out', $pem) == 0 or die 'genpkey';
    my $der = `openssl pkey -in '$pem' -pubout -outform DER`;
    my $pub = substr($der, -32);
    my $id = substr(sha256($name . "\n" . "\x01" . $pub), 0, 4);
    my $vkey = $name . '+' . unpack('H8', $id) . '+' . b64("\x01" . $pub);
    return { name => $name, pem => $pem, id => $id, vkey => $vkey };
}

sub sign_note {
    my ($key, $text) = @_;
    spit("$tmp/msg", $text);
    my $sig = `openssl pkeyutl -sign -inkey '$key->{pem}' -rawin -in '$tmp/msg'`;
    die 'pkeyutl' unless length($sig) == 64;
    return $text . "\n\x{e2}\x{80}\x{94} " . $key->{name} . ' ' . b64($key->{id} . $sig) . "\n";
}

# --- an independent RFC 9162 tree ------------------------------------------

sub leaf_hash { return sha256("\x00" . $_[0]); }
sub node_hash { return sha256("\x01" . $_[0] . $_[1]); }
sub split_point { my $n = shift; my $k = 1; $k <<= 1 while $k < $n - $k; return $k; }

sub mth {
    my ($l, $s, $e) = @_;
    return sha256('') if $e == $s;
    return $l->[$s] if $e - $s == 1;
    my $k = split_point($e - $s);
    return node_hash(mth($l, $s, $s + $k), mth($l, $s + $k, $e));
}

sub path {
    my ($l, $m, $s, $e) = @_;
    return () if $e - $s <= 1;
    my $k = split_point($e - $s);
    return $m < $k
      ? (path($l, $m, $s, $s + $k), mth($l, $s + $k, $e))
      : (path($l, $m - $k, $s + $k, $e), mth($l, $s, $s + $k));
}

sub subproof {
    my ($l, $m, $s, $e, $b) = @_;
    if ($m == $e - $s) { return $b ? () : (mth($l, $s, $e)); }
    my $k = split_point($e - $s);
    return $m <= $k
      ? (subproof($l, $m, $s, $s + $k, $b), mth($l, $s + $k, $e))
      : (subproof($l, $m - $k, $s + $k, $e, 0), mth($l, $s, $s + $k));
}

sub checkpoint {
    my ($key, $origin, $size, $root) = @_;
    return sign_note($key, "$origin\n$size\n" . b64($root) . "\n");
}

# --- build a log and a receipt ---------------------------------------------

my $origin = 'gov.example/ledger/main';
my $key = new_key($origin);
my $other = new_key('other.example/log');

my @canon;
for my $i (0 .. 10) {
    push @canon, sprintf(qq({"entry":"%d","ledger":"public.permits","recorded":"2026-11-27T08:00:%02d.000000Z",)
      . qq("role":"clerk","row":{"id":%d,"note":"caf\x{c3}\x{a9} \\"%d\\""},"v":1}), 100 + $i, $i, $i, $i);
}
my @leaves = map { leaf_hash($_) } @canon;
my $size = 11;
my $idx = 6;
my $root_hash = mth(\@leaves, 0, $size);
my $cp = checkpoint($key, $origin, $size, $root_hash);

my %good = (
    format     => 'govledger-receipt-v1',
    log        => $origin,
    ledger     => 'public.permits',
    entry_id   => 106,
    canonical  => $canon[$idx],
    hash_alg   => 'sha256',
    leaf_hash  => unpack('H*', $leaves[$idx]),
    leaf_index => $idx,
    tree_size  => $size,
    proof      => [map { unpack('H*', $_) } path(\@leaves, $idx, 0, $size)],
    checkpoint => $cp,
);
my $json = JSON::PP->new->canonical;

sub receipt_file {
    my ($r, $name) = @_;
    my $f = "$tmp/$name.json";
    spit($f, ref $r ? $json->encode($r) : $r);
    return $f;
}

sub verify {
    my ($file, @opts) = @_;
    my $cmd = join(' ', map { "'$_'" } $bin, '--key', $key->{vkey}, @opts, $file) . " 2>'$tmp/err' >'$tmp/out'";
    my $rc = system($cmd) >> 8;
    return ($rc, slurp("$tmp/err") . slurp("$tmp/out"));
}

my ($rc, $msg) = verify(receipt_file(\%good, 'good'));
is($rc, 0, 'a good receipt verifies') or diag($msg);
like($msg, qr/^verified: entry 106 of public\.permits is leaf 6 of \Q$origin\E at tree size 11/, 'success line');

# every leaf of the tree, not just one
my $allok = 1;
for my $i (0 .. $size - 1) {
    my %r = (%good, canonical => $canon[$i], entry_id => 100 + $i, leaf_index => $i,
             leaf_hash => unpack('H*', $leaves[$i]),
             proof => [map { unpack('H*', $_) } path(\@leaves, $i, 0, $size)]);
    my ($c, $m) = verify(receipt_file(\%r, "leaf$i"));
    $allok = 0, diag("leaf $i: $m") if $c != 0;
}
ok($allok, 'receipts for every leaf of the tree verify');

# key given in a file, receipt on standard input
spit("$tmp/key.txt", $key->{vkey} . "\n");
is(system("'$bin' -q --key-file '$tmp/key.txt' - < '$tmp/good.json' 2>/dev/null") >> 8, 0,
   'key from a file and receipt from stdin');

# --- tampering: each must fail with exit 1 naming the field ------------------

sub tampered {
    my ($desc, $field_re, %change) = @_;
    my %r = (%good, %change);
    delete $r{$_} for grep { !defined $change{$_} && exists $change{$_} } keys %change;
    my ($c, $m) = verify(receipt_file(\%r, 'bad'));
    is($c, 1, "$desc: rejected with status 1");
    like($m, $field_re, "$desc: message names the field") or diag($m);
    unlike($m, qr/\n.+\n/, "$desc: one line");
}

my @p = @{ $good{proof} };
my $flip = sub { my ($h, $i) = @_; my $b = pack('H*', $h); substr($b, $i, 1) = chr(ord(substr($b, $i, 1)) ^ 1); unpack('H*', $b) };

tampered('format changed', qr/^[^:]+: format:/, format => 'govledger-receipt-v0');
tampered('unknown hash algorithm', qr/hash_alg:/, hash_alg => 'md5');
tampered('hash algorithm switched to sm3', qr/leaf_hash:/, hash_alg => 'sm3');
tampered('log renamed', qr/: log:/, log => 'gov.example/ledger/other');
tampered('ledger renamed', qr/: ledger:/, ledger => 'public.other');
tampered('entry_id changed', qr/: entry_id:/, entry_id => 107);
tampered('entry_id as a string', qr/: entry_id:/, entry_id => '106');
tampered('entry_id negative', qr/: entry_id:/, entry_id => -106);
(my $c2 = $canon[$idx]) =~ s/"id":6/"id":7/;
tampered('canonical row value changed', qr/: leaf_hash:/, canonical => $c2);
(my $c3 = $canon[$idx]) =~ s/"role":"clerk"/"role":"admin"/;
tampered('canonical role changed', qr/: leaf_hash:/, canonical => $c3);
(my $c4 = $canon[$idx]) =~ s/,"v":1/, "v":1/;
tampered('canonical not canonical', qr/: canonical:/, canonical => $c4);
(my $c5 = $canon[$idx]) =~ s/"entry":"106"/"entry":"107"/;
tampered('canonical entry changed', qr/: entry_id:/, canonical => $c5);
tampered('canonical not JSON', qr/: canonical:/, canonical => '{"entry":');
tampered('leaf_hash changed', qr/: leaf_hash:/, leaf_hash => $flip->($good{leaf_hash}, 31));
tampered('leaf_hash upper-case', qr/: leaf_hash:/, leaf_hash => uc $good{leaf_hash});
tampered('leaf_hash truncated', qr/: leaf_hash:/, leaf_hash => substr($good{leaf_hash}, 2));
tampered('leaf_index + 1', qr/: proof:/, leaf_index => $idx + 1);
tampered('leaf_index - 1', qr/: proof:/, leaf_index => $idx - 1);
tampered('leaf_index beyond the tree', qr/: leaf_index:/, leaf_index => $size);
tampered('tree_size changed', qr/: tree_size:/, tree_size => $size + 1);
tampered('proof hash flipped', qr/: proof:/, proof => [$flip->($p[0], 0), @p[1 .. $#p]]);
tampered('proof hash removed', qr/: proof:/, proof => [@p[0 .. $#p - 1]]);
tampered('proof hash added', qr/: proof:/, proof => [@p, $p[0]]);
tampered('proof hashes reordered', qr/: proof:/, proof => [reverse @p]);
tampered('proof hash not hex', qr/: proof\[1\]:/, proof => [$p[0], 'zz' x 32, @p[2 .. $#p]]);
tampered('proof not an array', qr/: proof:/, proof => $p[0]);
(my $cp2 = $cp) =~ s/\n11\n/\n12\n/;
tampered('checkpoint size edited', qr/: checkpoint:.*signature/, checkpoint => $cp2, tree_size => 12);
my ($sigline) = $cp =~ /\x{e2}\x{80}\x{94} \S+ (\S+)\n$/;
my $sigbytes = MIME::Base64::decode_base64($sigline);
substr($sigbytes, 10, 1) = chr(ord(substr($sigbytes, 10, 1)) ^ 0x40);
(my $cp3 = $cp) =~ s/\Q$sigline\E/b64($sigbytes)/e;
tampered('checkpoint signature altered', qr/: checkpoint:.*invalid signature/, checkpoint => $cp3);
tampered('checkpoint signed by another key', qr/: checkpoint:.*no verifiable signature/,
         checkpoint => checkpoint($other, $origin, $size, $root_hash));
(my $cp4 = $cp) =~ s/\n\n/\n/;
tampered('checkpoint without blank line', qr/: checkpoint:.*malformed/, checkpoint => $cp4);
tampered('checkpoint root replaced and re-signed by another key', qr/: checkpoint:/,
         checkpoint => checkpoint($other, $origin, $size, mth(\@leaves, 0, $size - 1)));
for my $f (qw(format log ledger entry_id canonical hash_alg leaf_hash leaf_index tree_size proof checkpoint)) {
    tampered("$f missing", qr/: \Q$f\E: missing/, $f => undef);
}

# a receipt from another log, checked against our key
{
    my $ocp = checkpoint($other, 'other.example/log', $size, $root_hash);
    my ($c, $m) = verify(receipt_file({ %good, log => 'other.example/log', checkpoint => $ocp }, 'otherlog'));
    is($c, 1, 'a receipt from another log is rejected');
    like($m, qr/checkpoint:.*no verifiable signature/, '... because no signature is from our key');
}

# wrong verifier key or malformed input
{
    my $cmd = "'$bin' --key '$other->{vkey}' '$tmp/good.json' 2>'$tmp/err'";
    is(system($cmd) >> 8, 1, 'the right receipt under the wrong key is rejected');
    is(system("'$bin' --key 'garbage' '$tmp/good.json' 2>/dev/null") >> 8, 2, 'a malformed key is a usage error');
    is(system("'$bin' --key '$key->{vkey}' '$tmp/nonexistent.json' 2>/dev/null") >> 8, 2, 'a missing file is an I/O error');
    is(system("'$bin' '$tmp/good.json' 2>/dev/null") >> 8, 2, 'no key is a usage error');
    my ($c, $m) = verify(receipt_file('{"format":"govledger-receipt-v1",', 'trunc'));
    is($c, 1, 'truncated JSON is rejected');
    like($m, qr/receipt: not valid JSON/, '... as invalid JSON');
    ($c, $m) = verify(receipt_file('[1,2]', 'arr'));
    is($c, 1, 'a JSON array is rejected');
    my $dup = $json->encode(\%good);
    $dup =~ s/^\{/{"tree_size":3,/;
    ($c, $m) = verify(receipt_file($dup, 'dup'));
    is($c, 1, 'duplicate members are rejected');
    like($m, qr/duplicate/, '... as duplicates');
}

# --- consistency with an older checkpoint ------------------------------------

for my $old (1 .. $size) {
    my $oldcp = checkpoint($key, $origin, $old, mth(\@leaves, 0, $old));
    spit("$tmp/old.cp", $oldcp);
    spit("$tmp/cons.json", $json->encode({ old_size => $old, new_size => $size,
        proof => [map { unpack('H*', $_) } ($old < $size ? subproof(\@leaves, $old, 0, $size, 1) : ())] }));
    my ($c, $m) = verify("$tmp/good.json", '--old-checkpoint', "$tmp/old.cp", '--consistency', "$tmp/cons.json");
    is($c, 0, "consistent with the old checkpoint of size $old") or diag($m);
}
{
    my $old = 5;
    my @proof = map { unpack('H*', $_) } subproof(\@leaves, $old, 0, $size, 1);
    my $good_old = checkpoint($key, $origin, $old, mth(\@leaves, 0, $old));

    my $check = sub {
        my ($desc, $oldcp, $cons, $re) = @_;
        spit("$tmp/old.cp", $oldcp);
        spit("$tmp/cons.json", $json->encode($cons));
        my ($c, $m) = verify("$tmp/good.json", '-o', "$tmp/old.cp", '-c', "$tmp/cons.json");
        is($c, 1, "$desc: rejected");
        like($m, $re, "$desc: message names the field") or diag($m);
    };
    # a rewritten history: old checkpoint over different leaves, validly signed
    my @forked = @leaves;
    $forked[2] = leaf_hash('{"entry":"102","forged":true}');
    $check->('old checkpoint from a rewritten history', checkpoint($key, $origin, $old, mth(\@forked, 0, $old)),
             { old_size => $old, new_size => $size, proof => \@proof }, qr/consistency\.proof:/);
    $check->('consistency proof hash flipped', $good_old,
             { old_size => $old, new_size => $size, proof => [$flip->($proof[0], 3), @proof[1 .. $#proof]] },
             qr/consistency\.proof:/);
    $check->('consistency proof shortened', $good_old,
             { old_size => $old, new_size => $size, proof => [@proof[0 .. $#proof - 1]] }, qr/consistency\.proof:/);
    $check->('consistency old_size mismatch', $good_old,
             { old_size => $old + 1, new_size => $size, proof => \@proof }, qr/consistency\.old_size:/);
    $check->('consistency new_size mismatch', $good_old,
             { old_size => $old, new_size => $size + 1, proof => \@proof }, qr/consistency\.new_size:/);
    $check->('old checkpoint signed by another key', checkpoint($other, $origin, $old, mth(\@leaves, 0, $old)),
             { old_size => $old, new_size => $size, proof => \@proof }, qr/old checkpoint:/);
    $check->('old checkpoint of another origin', checkpoint($key, 'gov.example/other', $old, mth(\@leaves, 0, $old)),
             { old_size => $old, new_size => $size, proof => \@proof }, qr/old checkpoint:.*origin/);
    $check->('old checkpoint newer than the receipt', checkpoint($key, $origin, $size + 1, mth(\@leaves, 0, $size)),
             { old_size => $size + 1, new_size => $size, proof => [] }, qr/consistency\.proof:/);
    is(system("'$bin' --key '$key->{vkey}' -o '$tmp/old.cp' '$tmp/good.json' 2>/dev/null") >> 8, 2,
       '--old-checkpoint without --consistency is a usage error');
}

done_testing();
