#!/usr/bin/perl
#
# The module must never make a blocking libpq call in a worker: every PQ*
# symbol it imports is on the list of calls that do not wait (with the
# connection in non-blocking mode), and none of the blocking ones appears.

use strict;
use warnings;

use Test::More;
use GovNginx;

plan(skip_all => 'GOVLEDGER_NGX_MODULE not built') unless GovNginx::has_module();
my $nm = grep { -x "$_/nm" } split(/:/, $ENV{PATH});
plan(skip_all => 'nm not installed') unless $nm;

my %allowed = map { $_ => 1 } qw(
	PQconnectStartParams PQconnectPoll PQsocket PQstatus PQsetnonblocking
	PQenterPipelineMode PQsendPrepare PQsendQueryPrepared PQsendQueryParams
	PQpipelineSync PQsetSingleRowMode PQflush PQconsumeInput PQisBusy PQgetResult PQnotifies
	PQfreemem PQtransactionStatus PQresultStatus PQresultErrorField PQclear
	PQntuples PQnfields PQftype PQgetvalue PQgetlength PQgetisnull
	PQerrorMessage PQbackendPID PQfinish PQconninfoParse PQconninfoFree);
my @blocking = qw(PQconnectdb PQconnectdbParams PQsetdbLogin PQexec
	PQexecParams PQprepare PQexecPrepared PQdescribePrepared PQdescribePortal
	PQgetCancel PQcancel PQrequestCancel PQreset PQping PQpingParams
	PQputCopyData PQgetCopyData PQfn PQgetline PQputline PQendcopy);

my @syms = map { /\bU (PQ\w+)/ ? $1 : () }
	split /\n/, `nm -D --undefined-only $ENV{GOVLEDGER_NGX_MODULE}`;
ok(@syms > 10, 'module imports libpq symbols');
for my $s (@syms)
{
	ok($allowed{$s}, "$s is a non-blocking call");
}
my %have = map { $_ => 1 } @syms;
ok(!$have{$_}, "no $_") for @blocking;

done_testing();
