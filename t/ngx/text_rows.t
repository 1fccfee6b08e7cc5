#!/usr/bin/perl
#
# govledger_content_type: rows of a set-returning function sent as lines of
# text (CSV) instead of a JSON array; streamed in chunks when there are
# many; errors stay JSON; the default stays JSON.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use GovTest;
use GovNginx;

GovNginx->plan_or_skip;

GovTest::psql(<<'SQL');
DROP SCHEMA IF EXISTS ngx_text CASCADE;
CREATE SCHEMA ngx_text;
CREATE FUNCTION ngx_text.csv(n text) RETURNS SETOF text
    LANGUAGE sql AS $$
    SELECT 'id,name'
    UNION ALL
    SELECT * FROM (SELECT g || ',"row ' || g || '"' FROM generate_series(1, n::int) g) s $$;
CREATE FUNCTION ngx_text.one() RETURNS text
    LANGUAGE sql AS $$ SELECT 'only,line' $$;
CREATE FUNCTION ngx_text.none() RETURNS SETOF text
    LANGUAGE sql AS $$ SELECT 'x' WHERE false $$;
CREATE FUNCTION ngx_text.with_null() RETURNS SETOF text
    LANGUAGE sql AS $$ VALUES ('a'), (NULL), ('b') $$;
CREATE FUNCTION ngx_text.fail() RETURNS SETOF text
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'bad view';
END $$;
SQL

my $t = GovNginx->new;
$t->run(<<'CONF');
    govledger_database "host=%%PGHOST%% port=%%PGPORT%% dbname=%%PGDATABASE%% user=postgres"
                       connections=2;
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /csv {
            govledger_content_type "text/csv; charset=utf-8";
            govledger_call ngx_text.csv $arg_n;
        }
        location = /one { govledger_content_type text/csv; govledger_call ngx_text.one; }
        location = /none { govledger_content_type text/csv; govledger_call ngx_text.none; }
        location = /with-null { govledger_content_type text/plain; govledger_call ngx_text.with_null; }
        location = /fail { govledger_content_type text/csv; govledger_call ngx_text.fail; }
        location = /json { govledger_call ngx_text.csv $arg_n; }
    }
CONF

my $r = $t->get('/csv?n=3');
is($r->{status}, 200, 'CSV: 200');
is($r->{headers}{'content-type'}, 'text/csv; charset=utf-8', '... the configured Content-Type');
is($r->{content}, qq{id,name\n1,"row 1"\n2,"row 2"\n3,"row 3"\n}, '... one line a row, no JSON around them');

$r = $t->get('/one');
is($r->{content}, "only,line\n", 'a single value is one line');
is($r->{headers}{'content-length'}, 10, '... with its Content-Length');

$r = $t->get('/none');
is($r->{status}, 200, 'no rows: 200');
is($r->{content}, '', '... and an empty body');

$r = $t->get('/with-null');
is($r->{content}, "a\n\nb\n", 'a NULL row is an empty line');
is($r->{headers}{'content-type'}, 'text/plain', '... any type other than JSON gives lines');

$r = $t->get('/fail');
is($r->{status}, 400, 'an error: its status');
like($r->{headers}{'content-type'}, qr{^application/json}, '... and a JSON body, whatever the location\'s type');
is(eval { decode_json($r->{content})->{code} }, '22023', '... with the SQLSTATE');

$r = $t->get('/json?n=2');
is($r->{content}, qq{[id,name,1,"row 1",2,"row 2"]},
	'without the directive: the values in a JSON array, as they are');
like($r->{headers}{'content-type'}, qr{^application/json}, 'without the directive: JSON');

# many rows: streamed, chunked, every line present and in order
my $n = 200000;
my $raw = $t->raw("GET /csv?n=$n HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
my ($head, $body) = split /\r\n\r\n/, $raw, 2;
like($head, qr{^Transfer-Encoding: chunked}mi, "$n rows: chunked, not buffered whole");
unlike($head, qr{^Content-Length}mi, '... without Content-Length');
my $data = '';
while ($body =~ /\G([0-9a-fA-F]+)\r\n/gc)
{
	my $len = hex($1);
	last if $len == 0;
	$data .= substr($body, pos($body), $len);
	pos($body) += $len + 2;
}
my @lines = split /\n/, $data;
is(scalar(@lines), $n + 1, '... every line arrives');
is($lines[-1], qq{$n,"row $n"}, '... the last one intact');
my $in_order = 1;
for my $i (1 .. $#lines)
{
	$in_order = 0, last unless $lines[$i] eq qq{$i,"row $i"};
}
ok($in_order, '... all in order');

# the pool is healthy afterwards
is($t->get('/one')->{content}, "only,line\n", 'the next request is served');

$t->stop;
done_testing();
