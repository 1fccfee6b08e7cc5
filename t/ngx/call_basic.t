#!/usr/bin/perl
#
# govledger_call: functions called through the gateway, results as bodies,
# parameters bound (never spliced), methods, body checks, SQLSTATE mapping,
# a function replaced while its statement is prepared, statement timeout,
# 1 MB bodies, more requests than connections.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use GovTest;
use GovNginx;

GovNginx->plan_or_skip;

GovTest::psql(<<'SQL');
DROP SCHEMA IF EXISTS ngx_basic CASCADE;
CREATE SCHEMA ngx_basic;
CREATE FUNCTION ngx_basic.hello(name text) RETURNS jsonb
    LANGUAGE sql AS $$ SELECT jsonb_build_object('hello', name) $$;
CREATE FUNCTION ngx_basic.echo(v text) RETURNS text
    LANGUAGE sql AS $$ SELECT v $$;
CREATE FUNCTION ngx_basic.echo_json(doc json) RETURNS json
    LANGUAGE sql AS $$ SELECT doc $$;
CREATE FUNCTION ngx_basic.info() RETURNS jsonb
    LANGUAGE sql AS $$ SELECT jsonb_build_object(
        'role', current_user,
        'read_only', current_setting('transaction_read_only'),
        'method', current_setting('request.method', true),
        'claims', current_setting('request.jwt.claims', true)) $$;
CREATE FUNCTION ngx_basic.nothing() RETURNS void
    LANGUAGE sql AS $$ SELECT $$;
CREATE FUNCTION ngx_basic.is_null(v text) RETURNS jsonb
    LANGUAGE sql AS $$ SELECT to_jsonb(v IS NULL) $$;
CREATE FUNCTION ngx_basic.fail(state text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = state, MESSAGE = 'failed on purpose',
        DETAIL = 'detail ' || state, HINT = 'hint ' || state;
END $$;
CREATE TABLE ngx_basic.t (id int PRIMARY KEY, note text);
CREATE FUNCTION ngx_basic.put(id text, note text) RETURNS jsonb
    LANGUAGE sql AS $$
    INSERT INTO ngx_basic.t VALUES (id::int, note) RETURNING to_jsonb(t) $$;
CREATE FUNCTION ngx_basic.get(id text) RETURNS jsonb
    LANGUAGE sql AS $$ SELECT to_jsonb(t) FROM ngx_basic.t WHERE t.id = get.id::int $$;
CREATE FUNCTION ngx_basic.sleep(s text) RETURNS jsonb
    LANGUAGE sql AS $$ SELECT to_jsonb(pg_sleep(s::float8)::text) $$;
CREATE FUNCTION ngx_basic.big(n text) RETURNS text
    LANGUAGE sql AS $$ SELECT '"' || repeat('x', n::int) || '"' $$;
CREATE FUNCTION ngx_basic.morph() RETURNS jsonb
    LANGUAGE sql AS $$ SELECT '1'::jsonb $$;
CREATE FUNCTION ngx_basic.many(n text) RETURNS SETOF jsonb
    LANGUAGE sql AS $$ SELECT jsonb_build_object('i', g, 'pad', repeat('p', 50))
    FROM generate_series(1, n::int) g $$;
CREATE FUNCTION ngx_basic.breaks() RETURNS SETOF jsonb
    LANGUAGE sql AS $$ SELECT to_jsonb(10 / (20000 - g)) FROM generate_series(1, 30000) g $$;
CREATE FUNCTION ngx_basic.rows() RETURNS SETOF jsonb
    LANGUAGE sql AS $$ SELECT to_jsonb(g) FROM generate_series(1, 3) g $$;
SQL

my $t = GovNginx->new;
$t->run(<<'CONF');
    govledger_database "host=%%PGHOST%% port=%%PGPORT%% dbname=%%PGDATABASE%% user=postgres"
                       connections=4 queue=16 queue_timeout=3s;
    client_max_body_size 2m;
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /hello { govledger_call ngx_basic.hello $arg_name; }
        location ~ ^/echo/(?<word>[^/]+)$ { govledger_call ngx_basic.echo $word; }
        location = /echo-header { govledger_call ngx_basic.echo $http_x_value; }
        location = /echo-cookie { govledger_call ngx_basic.echo $cookie_c; }
        location = /echo-mixed { govledger_call ngx_basic.echo "pre-${arg_a}-post"; }
        location = /echo-json {
            govledger_methods POST;
            govledger_call ngx_basic.echo_json $request_body;
        }
        location = /info { govledger_methods GET POST; govledger_call ngx_basic.info; }
        location = /nothing { govledger_call ngx_basic.nothing; }
        location = /is-null { govledger_call ngx_basic.is_null $arg_v; }
        location = /fail { govledger_call ngx_basic.fail $arg_state; }
        location = /put { govledger_methods POST; govledger_call ngx_basic.put $arg_id $arg_note; }
        location = /put-get { govledger_methods GET; govledger_call ngx_basic.put $arg_id $arg_note; }
        location = /get { govledger_call ngx_basic.get $arg_id; }
        location = /big { govledger_call ngx_basic.big $arg_n; }
        location = /rows { govledger_call ngx_basic.rows; }
        location = /many { govledger_call ngx_basic.many $arg_n; }
        location = /breaks { govledger_call ngx_basic.breaks; }
        location = /morph { govledger_call ngx_basic.morph; }
        location = /by-method {
            govledger_call GET ngx_basic.info;
            govledger_call POST|PUT ngx_basic.echo_json $request_body;
        }
        location = /missing { govledger_call ngx_basic.no_such_function; }
        location = /sleep {
            govledger_timeout 1s;
            govledger_call ngx_basic.sleep $arg_s;
        }
        location = /status { govledger_status; }
    }
CONF

my $r = $t->get('/hello?name=world');
is($r->{status}, 200, 'call: 200');
is($r->{content}, '{"hello": "world"}', 'jsonb result is the body, unchanged');
is($r->{headers}{'content-type'}, 'application/json', 'application/json');
like($r->{headers}{'server-timing'} // '',
	qr/^auth;dur=[\d.]+, queue;dur=[\d.]+, db;dur=[\d.]+$/, 'Server-Timing header');

$r = $t->get('/hello');
is($r->{content}, '{"hello": null}', 'absent variable is SQL NULL');

is($t->get('/echo/abc')->{content}, 'abc', 'regex capture bound');
is($t->get('/echo-header', headers => { 'X-Value' => 'h1' })->{content}, 'h1',
	'header bound');
is($t->get('/echo-cookie', headers => { Cookie => 'c=k1' })->{content}, 'k1',
	'cookie bound');
is($t->get('/echo-mixed?a=z')->{content}, 'pre-z-post', 'complex value bound');

# injection attempts arrive as data, through every kind of variable
for my $evil ("1'); DROP TABLE ngx_basic.t; --", q{x' OR '1'='1}, q{$1},
	q{\\'; SELECT pg_sleep(5); --}, q{"); SELECT 1; --})
{
	my $enc = $evil;
	$enc =~ s/([^A-Za-z0-9])/sprintf('%%%02X', ord($1))/ge;
	is($t->get("/echo-mixed?a=$enc")->{content}, "pre-$enc-post",
		"query argument as data: $evil");
	is($t->get('/echo-header', headers => { 'X-Value' => $evil })->{content},
		$evil, "header as data: $evil");
	is($t->get('/echo-cookie', headers => { Cookie => "c=$enc" })->{content},
		$enc, "cookie as data: $evil");
	is($t->get("/echo/$enc")->{content}, $evil, "capture as data: $evil");
	my $doc = encode_json({ v => $evil });
	is($t->post('/echo-json', body => $doc)->{content}, $doc,
		"body as data: $evil");
}
is(GovTest::psql(
	"SELECT count(*) FROM pg_tables WHERE schemaname = 'ngx_basic'"), 1,
	'table still there');

# methods and transactions
my $info = GovNginx->json($t->get('/info'));
is($info->{read_only}, 'on', 'GET runs READ ONLY');
is($info->{method}, 'GET', 'request.method set');
is($info->{role}, 'postgres', 'no auth: login role');
$info = GovNginx->json($t->post('/info'));
is($info->{read_only}, 'off', 'POST runs read-write');

$r = $t->post('/hello?name=x', body => '{}');
is($r->{status}, 200, 'POST allowed by default');
$r = $t->http('DELETE', '/hello');
is($r->{status}, 405, 'DELETE: 405');
is($r->{headers}{allow}, 'GET, HEAD, POST', 'Allow header');
is((GovNginx->json($r) // {})->{code}, 'GL405', 'JSON error body');
is($t->get('/echo-json')->{status}, 405, 'GET on POST-only location: 405');

$r = $t->get('/put-get?id=1&note=a');
is($r->{status}, 405, 'write in a read-only transaction: 405 (25006)');
is((GovNginx->json($r) // {})->{code}, '25006', 'SQLSTATE code');
is($t->post('/put?id=1&note=a', body => '{}')->{status}, 200, 'insert: 200');
is($t->get('/get?id=1')->{content}, '{"id": 1, "note": "a"}',
	'row visible after commit');
$r = $t->post('/put?id=1&note=b', body => '{}');
is($r->{status}, 409, 'unique violation: 409');
my $e = GovNginx->json($r) // {};
is($e->{code}, '23505', 'code 23505');
ok(exists $e->{message} && exists $e->{details} && exists $e->{hint},
	'code, message, details, hint');

# one call per method
$info = GovNginx->json($t->get('/by-method'));
is($info->{method}, 'GET', 'GET call of a location with calls per method');
is($t->post('/by-method', body => '{"x":1}')->{content}, '{"x":1}', 'its POST call');
is($t->http('PUT', '/by-method', body => '[]')->{content}, '[]', 'its PUT call');
is($t->http('HEAD', '/by-method')->{status}, 200, 'HEAD goes with GET');
$r = $t->http('DELETE', '/by-method');
is($r->{status}, 405, 'a method without a call: 405');
is($r->{headers}{allow}, 'GET, HEAD, POST, PUT', 'Allow lists the calls\' methods');

# bodies
$r = $t->post('/echo-json', body => '{"a":1,"b":[true,null]}');
is($r->{content}, '{"a":1,"b":[true,null]}', 'json body passed unchanged');
$r = $t->post('/echo-json', body => '{"a":');
is($r->{status}, 400, 'malformed JSON: 400');
is((GovNginx->json($r) // {})->{code}, 'GL400', 'GL400');
$r = $t->post('/echo-json', body => '{"a":1,"a":2}');
is($r->{status}, 400, 'duplicate keys: 400');
$r = $t->post('/echo-json', body => '{"service":"art\\u0000gallery"}');
is($r->{status}, 400, '\\u0000 in a string: 400');
is((GovNginx->json($r) // {})->{details}, '\\u0000 (a NUL character) is not accepted at line 1, column 29',
   '... saying what is wrong in its own words, not the parser\'s flag names') or diag($r->{content});
$r = $t->post('/echo-json', body => 'a=1',
	headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
is($r->{status}, 415, 'form body: 415');
$r = $t->post('/echo-json', body => '{}',
	headers => { 'Content-Type' => 'application/merge-patch+json; charset=utf-8' });
is($r->{status}, 200, '+json media type accepted');
$r = $t->post('/echo-json', body => 'x' x (3 * 1024 * 1024));
is($r->{status}, 413, 'body over client_max_body_size: 413');

my $mb = encode_json({ data => 'y' x (1024 * 1024) });
$r = $t->post('/echo-json', body => $mb);
is($r->{status}, 200, '1 MB request body: 200');
is(length($r->{content}), length($mb), '1 MB body round trip, same length');
ok($r->{content} eq $mb, '1 MB body round trip, same bytes');
$r = $t->get('/big?n=' . (1024 * 1024));
is($r->{status}, 200, '1 MB response: 200');
is(length($r->{content}), 1024 * 1024 + 2, '1 MB response length');

# results
$r = $t->get('/nothing');
is($r->{status}, 204, 'void: 204');
is($t->get('/is-null')->{content}, 'true', 'missing argument: NULL');
is($t->get('/is-null?v=')->{content}, 'false', 'empty argument: empty string');
is($t->get('/rows')->{content}, '[1,2,3]', 'set-returning function: array');
is($t->post('/rows', body => '{}')->{content}, '[1,2,3]', 'the same for POST (buffered)');

# rows of read-only calls are streamed
$r = $t->get('/many?n=200000');
is($r->{status}, 200, '200000 rows: 200');
like($r->{headers}{'transfer-encoding'} // '', qr/chunked/, 'streamed, chunked');
my $rows = eval { decode_json($r->{content}) } // [];
is(scalar @$rows, 200000, 'all rows, valid JSON');
is($rows->[-1]{i}, 200000, 'in order');
$r = $t->get('/many?n=1');
is($r->{content}, '{"i": 1, "pad": "' . ('p' x 50) . '"}', 'one row: the value itself');
is($r->{headers}{'content-length'}, length($r->{content}), 'with Content-Length');
is($t->get('/many?n=0')->{content}, '[]', 'no rows: []');
is($t->http('HEAD', '/many?n=5')->{status}, 200, 'HEAD of a streamed call');
$r = $t->get('/breaks');
ok($r->{status} != 200 || length($r->{content}) == 0
	|| !eval { decode_json($r->{content}); 1 }, 'an error after the first rows cuts the response');
is($t->get('/many?n=3')->{status}, 200, 'pool healthy after a cut response');

# SQLSTATE table
my %map = (P0001 => 400, P0002 => 404, 22023 => 400, 23503 => 409,
	42501 => 403, '40001' => 503, XX000 => 500, PT418 => 418, PT402 => 402,
	'57014' => 504, '53300' => 503, '08006' => 503);
for my $state (sort keys %map)
{
	$r = $t->get("/fail?state=$state");
	is($r->{status}, $map{$state}, "SQLSTATE $state: $map{$state}");
	my $doc = GovNginx->json($r) // {};
	is($doc->{code}, $state, "code $state");
	if ($map{$state} >= 500 && $state !~ /^PT/)
	{
		unlike($r->{content}, qr/failed on purpose|detail \w/,
			"$state: no internals");
	}
	else
	{
		is($doc->{message}, 'failed on purpose', "$state: message");
	}
	ok(defined $r->{headers}{'retry-after'}, "$state: Retry-After")
		if $map{$state} == 503;
}
$r = $t->get('/missing');
is($r->{status}, 404, 'unknown function: 404 (42883)');
is($t->get('/hello?name=again')->{status}, 200, 'pool healthy after errors');

# a function replaced with another result type while statements are
# prepared: the affected connections are replaced, calls recover
GovTest::psql(q{CREATE OR REPLACE FUNCTION ngx_basic.morph() RETURNS jsonb
    LANGUAGE sql AS $$ SELECT '1'::jsonb $$});
my @ok = map { $t->get('/morph')->{status} } 1 .. 6;
is_deeply([grep { $_ != 200 } @ok], [], 'morph: 200 before');
GovTest::psql(q{DROP FUNCTION ngx_basic.morph();
    CREATE FUNCTION ngx_basic.morph() RETURNS text LANGUAGE sql AS $$ SELECT 'two' $$});
my @after = map { $t->get('/morph') } 1 .. 12;
is($after[-1]{status}, 200, 'morph: recovers after the function changed type');
is($after[-1]{content}, 'two', 'morph: new result');
ok(!(grep { $_->{status} != 200 && $_->{status} != 500 } @after), 'morph: only 200 or 500 meanwhile');

# statement timeout
$r = $t->get('/sleep?s=3');
is($r->{status}, 504, 'statement timeout: 504');
is((GovNginx->json($r) // {})->{code}, '57014', 'code 57014');
is($t->get('/sleep?s=0')->{status}, 200, 'after timeout: 200');

# more concurrent requests than connections
my @kids;
for my $i (1 .. 12)
{
	my $pid = fork();
	if ($pid == 0)
	{
		my $x = $t->get('/sleep?s=0.2');
		POSIX::_exit($x->{status} == 200 ? 0 : 1);
	}
	push @kids, $pid;
}
my $okc = 0;
for (@kids) { waitpid($_, 0); $okc++ if $? == 0 }
is($okc, 12, '12 concurrent requests over 4 connections: all 200');

my $m = $t->metrics;
ok(($m->{'govledger_http_requests_total{status="200"}'} // 0) > 10,
	'status: requests by status');
ok(defined $m->{'govledger_db_latency_seconds_count'},
	'status: latency histogram');
ok(defined $m->{'govledger_db_latency_seconds_bucket{le="+Inf"}'},
	'status: +Inf bucket');
ok((grep { /^govledger_pool_connections\{worker="\d+",state="idle"\}$/ }
	keys %$m), 'status: pool gauges');

$t->stop;
done_testing();
