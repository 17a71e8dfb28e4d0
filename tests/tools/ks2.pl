#!/usr/bin/perl
# SPDX-License-Identifier: Apache-2.0
#
# ks2.pl: the two-sample Kolmogorov-Smirnov test between every pair of
# labelled samples. Used by the timing tests (tests/integration/
# test_north_timing.sh) to check that refusals of different reasons cannot
# be told apart by their response times.
#
#   tests/tools/ks2.pl [FILE]      reads "LABEL VALUE" lines (stdin without FILE)
#   tests/tools/ks2.pl --self-test runs the built-in checks, exit 0 when they pass
#
# Prints one line per pair of labels, in the order the labels first appear:
#
#   LABEL_A LABEL_B n=N m=M D=0.1234 p=1.23e-05
#
# then "min_p=P" on a line of its own (1 with fewer than two labels).
#
# The statistic: D = sup_x |F_a(x) - F_b(x)| over the two empirical
# distribution functions, stepping through the merged sorted values and
# moving past all equal values at once (so ties between the samples count
# once, as they must). The p-value: the asymptotic Kolmogorov distribution
# Q(lambda) = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lambda^2) with Stephens'
# small-sample correction lambda = (sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) * D,
# ne = n m / (n + m) (Stephens 1970; Numerical Recipes 14.3 "kstwo"). It is
# accurate to a few per cent for n, m >= 4 and conservative for ties. There
# is no randomness anywhere: the same input always gives the same output.
use strict;
use warnings;

# ks_d(\@a, \@b): the two-sample statistic D of two sorted arrays.
sub ks_d {
    my ($a, $b) = @_;
    my ($i, $j, $d) = (0, 0, 0);
    my ($n, $m) = (scalar @$a, scalar @$b);
    while ($i < $n && $j < $m) {
        my $x = $a->[$i] <= $b->[$j] ? $a->[$i] : $b->[$j];
        $i++ while $i < $n && $a->[$i] == $x;
        $j++ while $j < $m && $b->[$j] == $x;
        my $diff = abs($i / $n - $j / $m);
        $d = $diff if $diff > $d;
    }
    return $d;
}

# q_ks($lambda): the Kolmogorov survival function, 1 at and near 0.
sub q_ks {
    my ($lambda) = @_;
    return 1 if $lambda < 1e-3;
    my ($sum, $sign, $prev) = (0, 1, 0);
    my $a2 = -2 * $lambda * $lambda;
    for my $j (1 .. 200) {
        my $term = $sign * 2 * exp($a2 * $j * $j);
        $sum += $term;
        # Converged: this term is tiny against the previous one or the sum.
        return $sum < 0 ? 0 : ($sum > 1 ? 1 : $sum)
            if abs($term) <= 1e-10 * $prev || abs($term) <= 1e-300 + 1e-16 * abs($sum);
        $prev = abs($term);
        $sign = -$sign;
    }
    return 1; # did not converge: lambda is tiny, Q is 1
}

# ks_p($d, $n, $m): the p-value of statistic D for sample sizes n and m.
sub ks_p {
    my ($d, $n, $m) = @_;
    my $en = sqrt($n * $m / ($n + $m));
    return q_ks(($en + 0.12 + 0.11 / $en) * $d);
}

sub self_test {
    my $fail = 0;
    my $check = sub {
        my ($what, $ok) = @_;
        print(($ok ? "ok   " : "FAIL ") . "$what\n");
        $fail++ unless $ok;
    };
    # Identical samples: D 0, p 1.
    my @a = map { $_ * 1.0 } 1 .. 100;
    $check->("identical samples: D=0", ks_d(\@a, \@a) == 0);
    $check->("identical samples: p=1", ks_p(0, 100, 100) == 1);
    # Disjoint samples: D 1, p tiny.
    my @b = map { $_ + 1000.0 } 1 .. 100;
    $check->("disjoint samples: D=1", ks_d(\@a, \@b) == 1);
    $check->("disjoint samples: p<1e-30", ks_p(1, 100, 100) < 1e-30);
    # Ties across samples count once: {1,2,2,3} vs {2,2,2,2}: D = 0.25
    # (at x=1: 1/4 against 0; at x=2: 3/4 against 1).
    $check->("ties: D=0.25", abs(ks_d([1, 2, 2, 3], [2, 2, 2, 2]) - 0.25) < 1e-12);
    # Known values of Q: Q(1.36) = 0.0494, Q(1.63) = 0.0098, Q(0.5) = 0.9639.
    $check->("Q(1.36)=0.0494", abs(q_ks(1.36) - 0.0494) < 5e-4);
    $check->("Q(1.63)=0.0098", abs(q_ks(1.63) - 0.0098) < 2e-4);
    $check->("Q(0.5)=0.9639", abs(q_ks(0.5) - 0.9639) < 5e-4);
    # A shift of a fifth of the range, 400 each (uniform spacing, no
    # randomness): D = 0.2 gives p ~ 2e-7; D = 0.06 gives p ~ 0.47.
    my @u = (0 .. 399);
    my @v = (80 .. 479);
    my $d = ks_d(\@u, \@v);
    $check->("shift 0.2: D=0.2", abs($d - 0.2) < 1e-9);
    $check->("shift 0.2: p<1e-6", ks_p($d, 400, 400) < 1e-6);
    $check->("D=0.06, n=m=400: p>0.3", ks_p(0.06, 400, 400) > 0.3);
    return $fail == 0 ? 0 : 1;
}

if (@ARGV && $ARGV[0] eq '--self-test') {
    exit self_test();
}

my (%samples, @labels);
while (my $line = <>) {
    next if $line =~ /^\s*(#|$)/;
    my ($label, $value) = split ' ', $line;
    die "ks2.pl: line $.: expected LABEL VALUE\n"
        unless defined $value && $value =~ /^-?[0-9.]+(?:[eE][-+]?[0-9]+)?$/;
    push @labels, $label unless exists $samples{$label};
    push @{ $samples{$label} }, $value + 0;
}
@{ $samples{$_} } = sort { $a <=> $b } @{ $samples{$_} } for @labels;

my $min_p = 1;
for my $i (0 .. $#labels) {
    for my $j ($i + 1 .. $#labels) {
        my ($a, $b) = @samples{ @labels[$i, $j] };
        my $d = ks_d($a, $b);
        my $p = ks_p($d, scalar @$a, scalar @$b);
        $min_p = $p if $p < $min_p;
        printf "%s %s n=%d m=%d D=%.4f p=%.3g\n", $labels[$i], $labels[$j], scalar @$a,
            scalar @$b, $d, $p;
    }
}
printf "min_p=%.3g\n", $min_p;
