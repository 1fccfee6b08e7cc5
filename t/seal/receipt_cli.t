#!/usr/bin/perl
#
# receipt_cli.t
#   Receipts produced by the database verify offline with govledger-verify
#   given only the log's verifier key (Ed25519, ECDSA P-256 and SM2 logs),
#   also against an older checkpoint with a consistency proof; every field
#   of a database receipt, once altered, makes it exit 1 naming the field.
#
# Copyright (c) 2026, govledger contributors

use strict;
use warnings;
use Test::More;
use JSON::PP;
use File::Temp qw(tempdir);
use FindBin;
use lib "$FindBin::Bin/../lib";
use GovTest;

my $bin = $ENV{GOVLEDGER_VERIFY} // "$ENV{GOVLEDGER_ROOT}/build/bin/govledger-verify";
BAIL_OUT("govledger-verify not built at $bin") unless -x $bin;
my $tmp = tempdir('rcli-XXXXXX', DIR => $ENV{GOVLEDGER_TMP} // '/tmp', CLEANUP => 1);
my $json = JSON::PP->new->canonical;

sub spit { my ($f, $d) = @_; open my $fh, '>:raw', $f or die; print $fh $d; close $fh; }
sub check {
    my ($key, $file, @opt) = @_;
    my $out = `'$bin' --key '$key' @opt '$file' 2>&1`;
    return ($? >> 8, $out);
}

for my $alg (['ed25519', 'sha256'], ['ecdsa-p256', 'sha256'], ['sm2', 'sm3']) {
    my ($sig, $hash) = @$alg;
    my $log = "rcli-$sig-$$";
    my $tbl = "rcli_" . ($sig =~ s/-/_/gr) . "_$$";
    GovTest::psql(qq{SELECT govledger.create_log('$log', '$hash', '$sig')});
    GovTest::psql(qq{CREATE TABLE $tbl (id int PRIMARY KEY, t text, at timestamptz, j jsonb);
	SELECT govledger.protect('$tbl', '$log')});
    GovTest::psql(qq{INSERT INTO $tbl SELECT g, 'zh \xe4\xb8\xad\xe6\x96\x87 ' || g, '2026-01-01'::timestamptz + g * interval '1 day',
		jsonb_build_object('n', g, 'big', 12345678901234567890.5) FROM generate_series(1, 9) g; SELECT govledger.seal('$log')});
    spit("$tmp/old.cp", GovTest::psql(qq{SELECT govledger.checkpoint('$log')}) . "\n");
    GovTest::psql(qq{INSERT INTO $tbl SELECT g, 'more ' || g, now(), NULL FROM generate_series(10, 23) g; SELECT govledger.seal('$log')});
    my $key = GovTest::psql(qq{SELECT govledger.verifier_key('$log')});
    my $e = GovTest::psql(qq{SELECT ledger_entry_id FROM $tbl WHERE id = 4});
    my $receipt = GovTest::psql(qq{SELECT govledger.receipt('$tbl', $e)});
    spit("$tmp/r.json", $receipt);
    my ($rc, $out) = check($key, "$tmp/r.json");
    is($rc, 0, "$sig/$hash: a database receipt verifies offline") or diag($out);
    spit("$tmp/cons.json", GovTest::psql(qq{SELECT govledger.consistency_proof(9, NULL, '$log')}));
    ($rc, $out) = check($key, "$tmp/r.json", '-o', "$tmp/old.cp", '-c', "$tmp/cons.json");
    is($rc, 0, "$sig/$hash: and is consistent with the checkpoint saved at size 9") or diag($out);

    next unless $sig eq 'ed25519';
    my $r = $json->decode($receipt);
    my %tamper = (
        format => 'govledger-receipt-v2', log => 'main', ledger => 'public.other',
        entry_id => $r->{entry_id} + 1, canonical => $r->{canonical} =~ s/"v":1/"v":2/r,
        hash_alg => 'sm3', leaf_index => $r->{leaf_index} + 1, tree_size => $r->{tree_size} - 1,
        proof => [reverse @{ $r->{proof} }], checkpoint => $r->{checkpoint} =~ s/\n23\n/\n22\n/r,
        leaf_hash => ($r->{leaf_hash} =~ s/^(.)/$1 eq '0' ? '1' : '0'/er),
    );
    my %field_re = (hash_alg => qr/leaf_hash/, leaf_index => qr/proof/, canonical => qr/leaf_hash/,
                    checkpoint => qr/checkpoint/);
    for my $f (sort keys %tamper) {
        spit("$tmp/bad.json", $json->encode({ %$r, $f => $tamper{$f} }));
        my ($c, $m) = check($key, "$tmp/bad.json");
        is($c, 1, "database receipt with $f altered: exit status 1");
        my $re = $field_re{$f} // qr/\Q$f\E/;
        like($m, qr/^govledger-verify: $re/, "... the message names $f") or diag($m);
    }
}

done_testing();
