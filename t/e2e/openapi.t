#!/usr/bin/perl
#
# docs/openapi.json against the nginx configuration that serves the API:
# the locations of sql/nginx/eservices_routes.conf and those of the
# `make run` server block (conf/nginx.conf.in, /metrics).  Both directions:
# every location and method is documented, with its path parameters (regex
# captures), query parameters ($arg_x), request body ($request_body), the
# function it calls and its authentication; every documented path and
# method exists in the configuration.  Every operation answers the gateway's
# error body for its errors; the roles of each operation are those granted
# EXECUTE on its function in sql/*.sql.  A call may name its methods
# (`govledger_call GET api.f;`), and GET handed to a named location
# (`error_page 418 = @name; if ($request_method = GET) { return 418; }`)
# counts as that location's route.
#
# Then, when the module is built and a database is at hand, each documented
# operation is requested without a token through a real nginx serving the
# same files: it must answer one of its documented statuses (401 with
# WWW-Authenticate for protected ones) with the documented Content-Type.
#
# Core Perl modules only.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use lib dirname(abs_path(__FILE__)) . '/../lib';

my $root = $ENV{GOVLEDGER_ROOT} || abs_path(dirname(__FILE__) . '/../..');
my $routes_file = "$root/sql/nginx/eservices_routes.conf";
my $server_file = "$root/conf/nginx.conf.in";
my $doc_file = "$root/docs/openapi.json";

my %METHODS = map { $_ => 1 } qw(GET POST PUT PATCH DELETE);

sub slurp
{
	my ($f) = @_;
	open(my $fh, '<:raw', $f) or BAIL_OUT("cannot read $f: $!");
	local $/;
	my $t = <$fh>;
	close($fh);
	return $t;
}

# --- nginx configuration ---------------------------------------------------

# tokens of nginx's configuration syntax: words (quotes removed), ; { }
sub tokenize
{
	my ($text, $file) = @_;
	my @tok;
	my $line = 1;
	pos($text) = 0;
	while (pos($text) < length($text))
	{
		if ($text =~ /\G([ \t\r]+)/gc) { next; }
		if ($text =~ /\G\n/gc) { $line++; next; }
		if ($text =~ /\G#[^\n]*/gc) { next; }
		if ($text =~ /\G([;{}])/gc) { push @tok, [$1, $line, 1]; next; }
		if ($text =~ /\G"((?:[^"\\]|\\.)*)"/gcs || $text =~ /\G'((?:[^'\\]|\\.)*)'/gcs)
		{
			push @tok, [$1, $line, 0];
			next;
		}
		if ($text =~ /\G([^\s;{}"']+)/gc) { push @tok, [$1, $line, 0]; next; }
		die "$file:$line: cannot tokenize\n";
	}
	return @tok;
}

# directives: { name, args => [...], line, block => [directives] or undef }
sub parse_block
{
	my ($tok, $file, $depth) = @_;
	my @out;
	while (@$tok)
	{
		my $t = shift @$tok;
		if ($t->[2] && $t->[0] eq '}')
		{
			die "$file:$t->[1]: unexpected }\n" unless $depth;
			return \@out;
		}
		die "$file:$t->[1]: unexpected $t->[0]\n" if $t->[2];
		my %d = (name => $t->[0], args => [], line => $t->[1]);
		while (1)
		{
			my $n = shift @$tok or die "$file:$t->[1]: $t->[0] not terminated\n";
			if ($n->[2] && $n->[0] eq ';') { last; }
			if ($n->[2] && $n->[0] eq '{')
			{
				$d{block} = parse_block($tok, $file, $depth + 1);
				last;
			}
			die "$file:$n->[1]: unexpected }\n" if $n->[2];
			push @{ $d{args} }, $n->[0];
		}
		push @out, \%d;
	}
	die "$file: missing }\n" if $depth;
	return \@out;
}

sub parse_conf
{
	my ($file, $text) = @_;
	$text //= slurp($file);
	my @tok = tokenize($text, $file);
	return parse_block(\@tok, $file, 0);
}

sub directives { my ($block, $name) = @_; return grep { $_->{name} eq $name } @$block; }

# a location regex as a path template: each named capture becomes {}
# (returned with the captures in order); undef when the regex is more than
# literal text and captures
sub regex_template
{
	my ($re) = @_;
	return undef unless $re =~ s/^\^// && $re =~ s/(?<!\\)\$$//;
	my ($tpl, @caps) = ('');
	while (length $re)
	{
		if ($re =~ s/^\(\?<(\w+)>//)
		{
			my $name = $1;
			my ($depth, $class, $pat) = (1, 0, '');
			while (length $re)
			{
				my $c;
				if ($re =~ s/^(\\.)//) { $pat .= $1; next; }
				$c = substr($re, 0, 1, '');
				if ($class) { $class = 0 if $c eq ']'; }
				elsif ($c eq '[') { $class = 1; }
				elsif ($c eq '(') { $depth++; }
				elsif ($c eq ')') { last unless --$depth; }
				$pat .= $c;
			}
			return undef if $depth;
			push @caps, { name => $name, pattern => $pat };
			$tpl .= '{}';
		}
		elsif ($re =~ s/^\\([.\/\-])//) { $tpl .= $1; }
		elsif ($re =~ s/^([A-Za-z0-9\/_-]+)//) { $tpl .= $1; }
		else { return undef; }
	}
	return ($tpl, @caps);
}

# the routes: one per path template and method
my @problems;    # configuration that cannot be documented at all
my %route;       # "METHOD template" => route
my %named;       # @name => location
my %reached;     # @name => 1
my $fallback;    # the location / answering 404 to every other path

sub location_info
{
	my ($loc, $inherit, $file) = @_;
	my %i = (file => $file, line => $loc->{line}, auth => $inherit->{auth},
			 anonymous_role => $inherit->{anonymous_role});
	my $b = $loc->{block} || [];
	for my $d (@$b)
	{
		my $n = $d->{name};
		if ($n eq 'govledger_methods') { $i{methods} = [ map { uc } @{ $d->{args} } ]; }
		elsif ($n eq 'govledger_call')
		{
			my @args = @{ $d->{args} };
			my $only = $args[0] =~ /^[A-Z]+(?:[|,][A-Z]+)*$/ ? shift(@args) : undef;
			my ($fn, @vals) = @args;
			my %c = (call => $fn, vars => [ map { [ /\$\{?(\w+)\}?/g ] } @vals ]);
			if ($only)
			{
				# a call for the methods it names (GET implies HEAD)
				$i{by_method}{$_} = \%c for split /[|,]/, $only;
			}
			else
			{
				@i{qw(call vars)} = @c{qw(call vars)};
			}
		}
		elsif ($n eq 'govledger_auth') { $i{auth} = $d->{args}[0]; }
		elsif ($n eq 'govledger_anonymous_role') { $i{anonymous_role} = $d->{args}[0]; }
		elsif ($n eq 'govledger_status') { $i{status} = 1; }
		elsif ($n eq 'error_page' && @{ $d->{args} } >= 3 && $d->{args}[-2] eq '='
			   && $d->{args}[-1] =~ /^@/)
		{
			$i{error_page}{$_} = $d->{args}[-1] for @{ $d->{args} }[0 .. $#{ $d->{args} } - 2];
		}
		elsif ($n eq 'if')
		{
			my $cond = join(' ', @{ $d->{args} });
			my ($ret) = directives($d->{block} || [], 'return');
			if ($cond =~ /^\(\s*\$request_method\s*=\s*(\w+)\s*\)$/ && $ret
				&& @{ $d->{block} } == 1)
			{
				$i{divert}{ uc $1 } = $ret->{args}[0];
			}
			else
			{
				push @problems, "$file:$d->{line}: an if block other than a method diversion";
			}
		}
		elsif ($n eq 'location')
		{
			push @problems, "$file:$d->{line}: nested location";
		}
	}
	if ($i{call} || $i{status})
	{
		$i{methods} //= $i{status} ? ['GET'] : [qw(GET HEAD POST)];
	}
	return \%i;
}

sub add_route
{
	my ($method, $tpl, $caps, $i, $via) = @_;
	my $key = "$method $tpl";
	if ($route{$key})
	{
		push @problems, "$i->{file}:$i->{line}: $key is also served at line $route{$key}{line}";
		return;
	}
	$route{$key} = { %$i, method => $method, template => $tpl, captures => $caps,
					 via => $via };
}

sub collect_locations
{
	my ($block, $file, $inherit) = @_;
	my %inh = %$inherit;
	for my $d (@$block)
	{
		$inh{auth} = $d->{args}[0] if $d->{name} eq 'govledger_auth';
		$inh{anonymous_role} = $d->{args}[0] if $d->{name} eq 'govledger_anonymous_role';
	}
	my @locs;
	for my $d (directives($block, 'location'))
	{
		my @a = @{ $d->{args} };
		if (@a == 1 && $a[0] =~ /^@/)
		{
			$named{ $a[0] } = location_info($d, \%inh, $file);
			next;
		}
		push @locs, [$d, @a];
	}
	for my $l (@locs)
	{
		my ($d, @a) = @$l;
		my ($tpl, @caps);
		if (@a == 1 && $a[0] eq '/')
		{
			# the fallback of every other path: a 404 and nothing else
			my @b = @{ $d->{block} || [] };
			my ($ret) = directives(\@b, 'return');
			push @problems, "$file:$d->{line}: location / does more than answer 404"
				unless $ret && $ret->{args}[0] eq '404'
				&& !grep { $_->{name} !~ /^(?:return|default_type|types|govledger_auth)$/ } @b;
			$fallback = $d;
			next;
		}
		if (@a == 2 && $a[0] eq '=')
		{
			$tpl = $a[1];
		}
		elsif (@a == 2 && $a[0] eq '~')
		{
			($tpl, @caps) = regex_template($a[1]);
			unless (defined $tpl)
			{
				push @problems, "$file:$d->{line}: regex $a[1] is not literal text with named captures";
				next;
			}
		}
		else
		{
			push @problems, "$file:$d->{line}: location @a is neither exact (=) nor a regex (~)";
			next;
		}
		my $i = location_info($d, \%inh, $file);
		my %div = %{ $i->{divert} || {} };
		for my $m (sort keys %div)
		{
			my $target = $i->{error_page}{ $div{$m} };
			my $n = $target && $named{$target};
			unless ($n)
			{
				push @problems, "$file:$d->{line}: $m answered $div{$m} without an error_page to a named location";
				next;
			}
			$reached{$target} = 1;
			if (!grep { $_ eq $m } @{ $n->{methods} || [] })
			{
				push @problems, "$n->{file}:$n->{line}: $target is reached by $m but does not accept it";
				next;
			}
			add_route($m, $tpl, \@caps, $n, $target);
		}
		my %by = %{ $i->{by_method} || {} };
		for my $m (sort keys %by)
		{
			next if $m eq 'HEAD';
			push @problems, "$file:$d->{line}: unknown method $m" unless $METHODS{$m};
			add_route($m, $tpl, \@caps, { %$i, %{ $by{$m} } }, undef);
		}
		next unless $i->{call} || $i->{status};
		for my $m (@{ $i->{methods} })
		{
			next if $m eq 'HEAD' || $div{$m} || $by{$m};
			push @problems, "$file:$d->{line}: unknown method $m" unless $METHODS{$m};
			add_route($m, $tpl, \@caps, $i, undef);
		}
	}
}

my ($routes_ast, $server_ast) = eval { (parse_conf($routes_file), parse_conf($server_file)) };
BAIL_OUT("cannot parse the nginx configuration: $@") unless $routes_ast;

# the server block of make run: its own settings, its locations, and the
# routes file it includes
my ($http) = directives($server_ast, 'http');
my ($server) = $http ? directives($http->{block}, 'server') : ();
BAIL_OUT("$server_file has no http { server { } }") unless $server;
my %http_inh;
for my $d (@{ $http->{block} })
{
	$http_inh{auth} = $d->{args}[0] if $d->{name} eq 'govledger_auth';
}
$http_inh{auth} //= 'off';
ok((grep { $_->{args}[0] =~ m{sql/nginx/eservices_routes\.conf$} } directives($server->{block}, 'include')),
   "$server_file includes the routes file");
collect_locations($routes_ast, $routes_file, \%http_inh);
collect_locations($server->{block}, $server_file, \%http_inh);

ok(!@problems, 'the configuration has only documentable locations') or diag(join("\n", @problems));
my @unreached = grep { !$reached{$_} } sort keys %named;
ok(!@unreached, 'every named location is reached by a method diversion') or diag("@unreached");
cmp_ok(scalar(keys %route), '>=', 1, 'routes found: ' . scalar(keys %route));

# --- the OpenAPI document --------------------------------------------------

my $doc = eval { JSON::PP->new->utf8->decode(slurp($doc_file)) };
BAIL_OUT("$doc_file is not JSON: $@") unless ref $doc eq 'HASH';
like($doc->{openapi} // '', qr/^3\.(0|1)\.\d+$/, 'an OpenAPI 3.0 or 3.1 document');
ok($doc->{info} && defined $doc->{info}{title} && defined $doc->{info}{version}, 'info has title and version');

# resolve a local $ref (also chains of them)
sub deref
{
	my ($v) = @_;
	my %seen;
	while (ref $v eq 'HASH' && exists $v->{'$ref'})
	{
		my $r = $v->{'$ref'};
		die "circular \$ref $r\n" if $seen{$r}++;
		die "non-local \$ref $r\n" unless $r =~ m{^#/(.*)$};
		my $t = $doc;
		for my $p (split m{/}, $1)
		{
			$p =~ s/~1/\//g;
			$p =~ s/~0/~/g;
			die "dangling \$ref $r\n" unless ref $t eq 'HASH' && exists $t->{$p};
			$t = $t->{$p};
		}
		$v = $t;
	}
	return $v;
}

# every $ref anywhere resolves
my @dangling;
sub walk_refs
{
	my ($v, $at) = @_;
	if (ref $v eq 'HASH')
	{
		if (exists $v->{'$ref'}) { eval { deref($v); 1 } or push @dangling, "$at: $@"; }
		walk_refs($v->{$_}, "$at/$_") for keys %$v;
	}
	elsif (ref $v eq 'ARRAY') { walk_refs($v->[$_], "$at/$_") for 0 .. $#$v; }
}
walk_refs($doc, '#');
ok(!@dangling, 'every $ref resolves') or diag(join('', @dangling));

my $error_schema = $doc->{components}{schemas}{Error};
ok($error_schema
   && (!grep { !exists $error_schema->{properties}{$_} } qw(code message details hint))
   && (grep { $_ eq 'code' } @{ $error_schema->{required} || [] })
   && (grep { $_ eq 'message' } @{ $error_schema->{required} || [] }),
   'components/schemas/Error is {code, message, details, hint} with code and message required');

my %tags = map { $_->{name} => 1 } @{ $doc->{tags} || [] };
my ($bearer) = grep {
	my $s = $doc->{components}{securitySchemes}{$_};
	$s->{type} eq 'http' && lc($s->{scheme} // '') eq 'bearer'
} keys %{ $doc->{components}{securitySchemes} || {} };
ok($bearer, 'a bearer security scheme is defined');

# documented operations, keyed like the routes (path params as {})
my %op;
my %opid;
for my $path (sort keys %{ $doc->{paths} || {} })
{
	my $item = $doc->{paths}{$path};
	(my $tpl = $path) =~ s/\{[^}]*\}/{}/g;
	my @names = $path =~ /\{([^}]*)\}/g;
	for my $m (sort keys %$item)
	{
		next unless $METHODS{ uc $m } || $m =~ /^(head|options|trace)$/;
		my $o = $item->{$m};
		my $key = uc($m) . " $tpl";
		$op{$key} = { path => $path, op => $o, names => \@names,
					  params => [ map { deref($_) } @{ $item->{parameters} || [] }, @{ $o->{parameters} || [] } ] };
		$opid{ $o->{operationId} // '' }++;
	}
}
ok(!(grep { $_ eq '' || $opid{$_} > 1 } keys %opid), 'every operation has a unique operationId');

# --- both directions --------------------------------------------------------

for my $key (sort keys %route)
{
	my $r = $route{$key};
	ok($op{$key}, "configured $key ($r->{file}:$r->{line}) is documented");
}
for my $key (sort keys %op)
{
	ok($route{$key}, "documented $key ($op{$key}{path}) is configured");
}

# roles granted EXECUTE on each api function by sql/*.sql
my %grant;
for my $f (sort glob("$root/sql/[0-9]*.sql"))
{
	my $sql = slurp($f);
	$sql =~ s/--[^\n]*//g;
	while ($sql =~ /\bGRANT\s+EXECUTE\s+ON\s+FUNCTION\s+(.*?)\s+TO\s+([^;]+);/gis)
	{
		my ($fns, $roles) = ($1, $2);
		my @roles = map { lc } $roles =~ /(\w+)/g;
		for my $fn ($fns =~ /\b(api\.\w+)\s*\(/g) { $grant{$fn}{$_} = 1 for @roles; }
	}
}

my %status_name = (400 => 1, 401 => 1, 403 => 1, 404 => 1, 405 => 1, 409 => 1,
				   413 => 1, 415 => 1, 500 => 1, 503 => 1, 504 => 1);

for my $key (sort grep { $op{$_} && $route{$_} } keys %route)
{
	my $r = $route{$key};
	my $d = $op{$key};
	my $o = $d->{op};
	my @bad;

	# path parameters: the captures, in order, with their patterns
	my @caps = @{ $r->{captures} };
	if (@caps != @{ $d->{names} })
	{
		push @bad, scalar(@caps) . " captures but " . scalar(@{ $d->{names} }) . " path parameters";
	}
	else
	{
		for my $i (0 .. $#caps)
		{
			my ($p) = grep { $_->{in} eq 'path' && $_->{name} eq $d->{names}[$i] } @{ $d->{params} };
			if (!$p) { push @bad, "path parameter {$d->{names}[$i]} not declared"; next; }
			push @bad, "path parameter $p->{name} not required" unless $p->{required};
			push @bad, "path parameter $p->{name} is not \$$caps[$i]{name}"
				unless ($p->{'x-nginx-variable'} // '') eq $caps[$i]{name};
			push @bad, "path parameter $p->{name} pattern is not ^$caps[$i]{pattern}\$"
				unless ($p->{schema}{pattern} // '') eq "^$caps[$i]{pattern}\$";
		}
	}
	my %pathp = map { $_ => 1 } @{ $d->{names} };
	push @bad, "path parameter $_->{name} not in the path"
		for grep { $_->{in} eq 'path' && !$pathp{ $_->{name} } } @{ $d->{params} };

	# what the call binds: captures, query arguments, the body
	my %capname = map { $_->{name} => 1 } @caps;
	my %query = map { $_->{name} => $_ } grep { $_->{in} eq 'query' } @{ $d->{params} };
	my %used_query;
	my $uses_body = 0;
	for my $v (map { @$_ } @{ $r->{vars} || [] })
	{
		if ($v eq 'request_body' || $v eq 'govledger_request_body') { $uses_body = 1; }
		elsif ($v =~ /^arg_(\w+)$/)
		{
			my $q = $query{$1};
			$used_query{$1} = 1;
			if (!$q) { push @bad, "\$$v is not a documented query parameter"; }
			elsif (($q->{'x-nginx-variable'} // '') ne $v) { push @bad, "query parameter $1 is not \$$v"; }
		}
		elsif ($capname{$v}) { }
		elsif ($v =~ /^govledger_jwt_claim/) { }
		else { push @bad, "\$$v is bound but not described"; }
	}
	push @bad, "query parameter $_ is documented but not bound" for grep { !$used_query{$_} } sort keys %query;
	my $rb = $o->{requestBody} && deref($o->{requestBody});
	if ($uses_body)
	{
		push @bad, 'the body is bound but no application/json requestBody is documented'
			unless $rb && $rb->{content}{'application/json'}{schema};
	}
	elsif ($rb)
	{
		push @bad, 'a requestBody is documented but the call does not bind the body';
	}

	# the function, authentication and roles
	if ($r->{call})
	{
		push @bad, "x-govledger-call is not $r->{call}" unless ($o->{'x-govledger-call'} // '') eq $r->{call};
	}
	elsif ($r->{status})
	{
		push @bad, 'a govledger_status location without x-govledger-status' unless $o->{'x-govledger-status'};
	}
	my @sec = @{ $o->{security} // $doc->{security} // [] };
	my $public = ($r->{auth} // 'off') eq 'off';
	if ($public)
	{
		push @bad, 'public (govledger_auth off) but security is documented'
			if grep { %$_ } @sec;
		if ($r->{call})
		{
			my $anon = $r->{anonymous_role} // '(login role)';
			push @bad, "public, but $anon may not execute $r->{call}"
				unless $grant{ $r->{call} }{$anon};
		}
	}
	else
	{
		my @roles;
		for my $s (@sec) { push @roles, @{ $s->{$bearer} } if $bearer && $s->{$bearer}; }
		if (!@roles)
		{
			push @bad, "govledger_auth $r->{auth} but no bearer security with roles";
		}
		elsif ($r->{call})
		{
			my $want = join(',', sort grep { $_ ne 'anonymous' } keys %{ $grant{ $r->{call} } || {} });
			my $got = join(',', sort @roles);
			push @bad, "roles $got, but EXECUTE on $r->{call} is granted to $want" unless $got eq $want;
		}
	}

	# tags
	my @t = @{ $o->{tags} || [] };
	push @bad, 'no tag' unless @t;
	push @bad, "tag $_ not declared" for grep { !$tags{$_} } @t;

	# responses: a 2xx with a media type; errors with the error body
	my %resp = %{ $o->{responses} || {} };
	push @bad, 'no 2xx response with content'
		unless grep { /^2\d\d$/ && %{ deref($resp{$_})->{content} || {} } } keys %resp;
	if ($r->{call})
	{
		my @need = (400, 405, 500, 503, 504);
		push @need, 401, 403 unless $public;
		push @need, 413, 415 if $uses_body;
		push @bad, "no $_ response" for grep { !$resp{$_} } @need;
		for my $code (sort grep { /^[45]\d\d$/ } keys %resp)
		{
			next if $code == 413;    # nginx's own page
			my $c = deref($resp{$code})->{content} || {};
			my $s = $c->{'application/json'} && $c->{'application/json'}{schema};
			push @bad, "$code does not answer the Error schema"
				unless $s && $s->{'$ref'} && deref($s) == $error_schema;
		}
		my $u = $resp{401} && deref($resp{401});
		push @bad, '401 without a WWW-Authenticate header'
			if $u && !$public && !($u->{headers} && $u->{headers}{'WWW-Authenticate'});
		my $busy = $resp{503} && deref($resp{503});
		push @bad, '503 without a Retry-After header'
			unless $busy && $busy->{headers} && $busy->{headers}{'Retry-After'};
	}
	push @bad, "response $_ is not a status code" for grep { !/^([1-5]\d\d|[1-5]XX|default)$/ } keys %resp;

	ok(!@bad, "$key: documented as configured") or diag(join("\n", map { "  $_" } @bad));
}

# --- live: every documented operation through nginx, without a token ------

SKIP: {
	my $live = 0;
	eval {
		require GovNginx;
		$live = GovNginx::has_module() && $ENV{PGHOST} ? 1 : 0;
		1;
	};
	skip 'live check needs GOVLEDGER_NGX_MODULE and a database (t/run)', 1 unless $live;
	my $db = $ENV{PGDATABASE} || 'govledger_test';
	my $ready = eval {
		require GovTest;
		GovTest::psql("SELECT to_regprocedure('api.checkpoint()') IS NOT NULL") eq 't';
	};
	skip "the e-services schema is not loaded into $db", 1 unless $ready;

	my $t = GovNginx->new(workers => 1);
	my $p = $t->prefix;
	system("openssl genpkey -algorithm ED25519 -out $p/jwt.key 2>/dev/null") == 0
		&& system("openssl pkey -in $p/jwt.key -pubout -out $p/jwt.pub 2>/dev/null") == 0
		or die "openssl failed\n";
	chmod(0644, "$p/jwt.pub");

	# the make-run server block: the routes file and its own locations
	my @own;
	for my $d (directives($server->{block}, 'location'))
	{
		my $body = join('', map { "            $_->{name} " . join(' ', @{ $_->{args} }) . ";\n" }
						  grep { !$_->{block} } @{ $d->{block} });
		push @own, "        location " . join(' ', @{ $d->{args} }) . " {\n$body        }\n";
	}
	my $own = join('', @own);
	$t->run(<<"CONF");
    default_type application/json;
    govledger_database "host=%%PGHOST%% port=%%PGPORT%% dbname=$db user=govledger_gateway";
    govledger_jwt_key file=%%PREFIX%%/jwt.pub alg=EdDSA;
    server {
        listen 127.0.0.1:%%PORT%%;
        include $routes_file;
$own    }
CONF

	for my $key (sort keys %op)
	{
		my $d = $op{$key};
		my $o = $d->{op};
		my ($method) = split / /, $key;
		my $path = $d->{path};
		my @query;
		for my $p (@{ $d->{params} })
		{
			my $ex = $p->{example} // ($p->{schema}{examples} || [])->[0];
			if ($p->{in} eq 'path') { $path =~ s/\{\Q$p->{name}\E\}/$ex/; }
			elsif ($p->{in} eq 'query' && $p->{required} && defined $ex) { push @query, "$p->{name}=$ex"; }
		}
		$path .= '?' . join('&', @query) if @query;
		my $protected = grep { %$_ } @{ $o->{security} // [] };
		my %opt;
		$opt{body} = '{}' if $o->{requestBody};
		my $res = $t->http($method, $path, %opt);
		my $st = $res->{status};
		my $resp = $o->{responses}{$st} && deref($o->{responses}{$st});
		my @bad;
		if ($protected)
		{
			push @bad, "status $st, not 401" unless $st == 401;
			push @bad, 'no WWW-Authenticate' unless ($res->{headers}{'www-authenticate'} // '') =~ /^Bearer /;
		}
		if (!$resp)
		{
			push @bad, "status $st is not documented";
		}
		else
		{
			my ($ct) = split /;/, $res->{headers}{'content-type'} // '';
			$ct = lc($ct // '');
			$ct =~ s/\s+//g;
			my %doc_ct = map { lc($_) => 1 } keys %{ $resp->{content} || {} };
			push @bad, "Content-Type $ct, documented: " . join(' ', sort keys %doc_ct)
				unless $doc_ct{$ct} || (!%doc_ct && $res->{content} eq '');
			if ($ct eq 'application/json' && $st >= 400)
			{
				my $j = eval { decode_json($res->{content}) };
				push @bad, 'error body is not {code, message}'
					unless ref $j eq 'HASH' && defined $j->{code} && defined $j->{message};
			}
		}
		ok(!@bad, "live $method $path without a token: $st") or diag(join("\n", map { "  $_" } @bad));
	}

	# a method no operation of the path has: 405 (or 401 first where a
	# token is required), one of the path's documented statuses
	for my $path (sort keys %{ $doc->{paths} })
	{
		my $item = $doc->{paths}{$path};
		next if $item->{delete};
		my %codes;
		my $protected = 0;
		for my $m (grep { $METHODS{ uc $_ } } keys %$item)
		{
			$codes{$_} = 1 for keys %{ $item->{$m}{responses} || {} };
			$protected ||= grep { %$_ } @{ $item->{$m}{security} // [] };
		}
		(my $url = $path) =~ s/\{([^}]*)\}/
			my ($p) = grep { $_->{in} eq 'path' && $_->{name} eq $1 }
				map { deref($_) } map { @{ $item->{$_}{parameters} || [] } } grep { $METHODS{ uc $_ } } keys %$item;
			$p ? $p->{example} : 'x'/ge;
		my $res = $t->http('DELETE', $url);
		my $want = $protected ? 401 : 405;
		ok($res->{status} == $want && $codes{$want}, "live DELETE $url: $want, documented for the path")
			or diag("got $res->{status}");
	}
	$t->stop;
}

done_testing();
