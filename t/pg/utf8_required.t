#!/usr/bin/perl
#
# utf8_required.t: CREATE EXTENSION govledger refuses a database whose
# encoding is not UTF8 (text is hashed as its stored UTF-8 bytes), with a
# clear error, and leaves nothing behind.

use strict;
use warnings;

use Test::More;
use GovTest;

my $db = 'govledger_latin1_test';
GovTest::psql("DROP DATABASE IF EXISTS $db");
GovTest::psql("CREATE DATABASE $db ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");

my $err;
my $r = GovTest::psql('CREATE EXTENSION govledger', db => $db, allow_error => 1, error => \$err);
ok(!defined $r, 'CREATE EXTENSION fails in a LATIN1 database');
like($err // '', qr/govledger requires a UTF8 database, this one is LATIN1/, 'the error says why');
is(GovTest::psql("SELECT count(*) FROM pg_extension WHERE extname = 'govledger'", db => $db), 0,
   'no extension left behind');
is(GovTest::psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'govledger'", db => $db), 0,
   'no schema left behind');

GovTest::psql("DROP DATABASE $db");
done_testing();
