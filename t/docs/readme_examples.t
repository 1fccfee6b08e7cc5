# t/docs/readme_examples.t: the SQL examples of README.md work exactly as
# printed.
#
# Every ```sql block of README.md that is followed directly by a plain ```
# block is run through psql (one session per README, in order, in a fresh
# database with the govledger extension) and its output compared with that
# block.  In the expected text "…" stands for any run of characters within
# one line (hashes, times and keys differ from run to run).

use strict;
use utf8;
use warnings;

use Test::More;
use lib "$ENV{GOVLEDGER_ROOT}/t/lib";
use GovTest;

binmode(Test::More->builder->$_, ":encoding(UTF-8)")
	for qw(output failure_output todo_output);

my $readme = "$ENV{GOVLEDGER_ROOT}/README.md";
open(my $fh, '<:encoding(UTF-8)', $readme) or die "$readme: $!";
my @lines = <$fh>;
close($fh);

# collect (sql, expected) pairs
my @examples;
for (my $i = 0; $i < @lines; $i++)
{
	next unless $lines[$i] =~ /^```sql\s*$/;
	my ($sql, $j) = ('', $i + 1);
	$sql .= $lines[$j++] while $j < @lines && $lines[$j] !~ /^```\s*$/;
	$j++;
	next unless $j < @lines && $lines[$j] =~ /^```\s*$/;
	my ($out, $k) = ('', $j + 1);
	$out .= $lines[$k++] while $k < @lines && $lines[$k] !~ /^```\s*$/;
	push @examples, { sql => $sql, expected => $out, line => $i + 1 };
	$i = $k;
}
ok(@examples >= 5, 'README.md has SQL examples with their output')
	or BAIL_OUT('no examples found');

my $db = 'readme_examples';
GovTest::psql("DROP DATABASE IF EXISTS $db", db => 'postgres');
GovTest::psql("CREATE DATABASE $db", db => 'postgres');
GovTest::psql('CREATE EXTENSION govledger', db => $db);

# one psql session running every example, with a marker between them
my $script = "$ENV{GOVLEDGER_TMP}/readme_examples.sql";
open(my $sf, '>:encoding(UTF-8)', $script) or die "$script: $!";
for my $n (0 .. $#examples)
{
	print $sf "\\echo <<<example $n>>>\n", $examples[$n]{sql};
}
close($sf);

my $psql = "$GovTest::PGBIN/psql";
my $output = `'$psql' -X -d $db -v VERBOSITY=default < '$script' 2>&1`;
utf8::decode($output);

my %got;
my $cur;
for my $l (split /\n/, $output)
{
	if ($l =~ /^<<<example (\d+)>>>$/) { $cur = $1; $got{$cur} = ''; next; }
	next unless defined $cur;
	$l =~ s/^psql:<stdin>:\d+: //;
	$got{$cur} .= "$l\n";
}

for my $n (0 .. $#examples)
{
	my $e = $examples[$n];
	my $got = $got{$n} // '';
	my @want = split /\n/, $e->{expected};
	my @have = split /\n/, $got;
	s/\s+$// for @want, @have;
	pop @want while @want && $want[-1] eq '';
	pop @have while @have && $have[-1] eq '';
	my $match = @want == @have;
	for my $i (0 .. $#want)
	{
		last unless $match;
		my $re = join('.*?', map { quotemeta } split(/…/, $want[$i], -1));
		$match = $have[$i] =~ /^$re$/;
	}
	ok($match, "README.md line $e->{line}: output as printed")
		or diag("expected:\n$e->{expected}\ngot:\n$got");
}

GovTest::psql("DROP DATABASE IF EXISTS $db", db => 'postgres');
done_testing();
