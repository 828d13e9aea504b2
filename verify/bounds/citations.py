"""Full citations of the sources the catalogue checks (LITERATURE.md).

Confidence tags follow LITERATURE.md: [Q] quoted from the source, [C] from the authors' public code and
re-derived exactly, [R] a standard result recalled, [D] derived in this project.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Source", "SOURCES", "source"]


@dataclass(frozen=True)
class Source:
    key: str
    authors: str
    title: str
    venue: str
    tag: str

    def cite(self) -> str:
        return f"{self.authors}. {self.title}. {self.venue}. [{self.tag}]"

    def short(self) -> str:
        first = self.authors.split(",")[0].split(" ")[-1]
        year = next((tok for tok in self.venue.replace(",", " ").split() if tok.isdigit() and len(tok) == 4), "")
        more = " et al." if "," in self.authors else ""
        return f"{first}{more} {year}".strip()


SOURCES = {
    s.key: s
    for s in [
        Source("matoba2022", "Kyle Matoba, Nikolaos Dimitriadis, Francois Fleuret",
               "The Theoretical Expressiveness of Maxpooling (TMLR 2023: Benefits of Max Pooling in Neural Networks: Theoretical and Experimental Evidence)",
               "arXiv:2203.01016, 2022", "C"),
        Source("arora2018", "Raman Arora, Amitabh Basu, Poorya Mianjy, Anirbit Mukherjee",
               "Understanding Deep Neural Networks with Rectified Linear Units", "ICLR 2018, arXiv:1611.01491", "Q"),
        Source("hertrich2021", "Christoph Hertrich, Amitabh Basu, Marco Di Summa, Martin Skutella",
               "Towards Lower Bounds on the Depth of ReLU Neural Networks",
               "NeurIPS 2021 / SIAM J. Discrete Math. 2023, arXiv:2105.14835", "Q"),
        Source("haase2023", "Christian Haase, Christoph Hertrich, Georg Loho",
               "Lower Bounds on the Depth of Integral ReLU Neural Networks via Lattice Polytopes",
               "ICLR 2023, arXiv:2302.12553", "Q"),
        Source("averkov2025", "Gennadiy Averkov, Christopher Hojny, Maximilian Merkert",
               "On the Expressiveness of Rational ReLU Neural Networks With Bounded Depth",
               "ICLR 2025, arXiv:2502.06283", "Q"),
        Source("bakaev2025", "Kirill Bakaev, Francesco Brunck, Christoph Hertrich, Jack Stade, Amir Yehudayoff",
               "Better Neural Network Expressivity: Subdividing the Simplex", "arXiv:2505.14338, 2025", "Q"),
        Source("grillo2025", "Moritz Grillo, Christoph Hertrich, Georg Loho",
               "Depth-Bounds for Neural Networks via the Braid Arrangement", "NeurIPS 2025, arXiv:2502.09324", "Q"),
        Source("mukherjee2017", "Anirbit Mukherjee, Amitabh Basu",
               "Lower bounds over Boolean inputs for deep neural networks with ReLU gates (as cited by Hertrich et al.)",
               "arXiv:1711.03073, 2017", "R"),
        Source("zaslavsky1975", "Thomas Zaslavsky",
               "Facing up to Arrangements: Face-Count Formulas for Partitions of Space by Hyperplanes",
               "Memoirs of the AMS 154, 1975 (central case: T. M. Cover, IEEE Trans. Electronic Computers, 1965)", "R"),
        Source("montufar2014", "Guido Montufar, Razvan Pascanu, Kyunghyun Cho, Yoshua Bengio",
               "On the Number of Linear Regions of Deep Neural Networks", "NeurIPS 2014", "R"),
        Source("serra2018", "Thiago Serra, Christian Tjandraatmadja, Srikumar Ramalingam",
               "Bounding and Counting Linear Regions of Deep Neural Networks", "ICML 2018, arXiv:1711.02114", "R"),
        Source("escobar2022", "Laura Escobar, Patricio Gallardo, Javier Gonzalez-Anaya, Jose L. Gonzalez, Guido Montufar, Alejandro H. Morales",
               "Enumeration of max-pooling responses with generalized permutohedra", "arXiv:2209.14978, 2022", "Q"),
        Source("clarke1983", "Frank H. Clarke", "Optimization and Nonsmooth Analysis", "Wiley 1983", "R"),
        Source("bertoin2021", "David Bertoin, Jerome Bolte, Sebastien Gerchinovitz, Edouard Pauwels",
               "Numerical influence of ReLU'(0) on backpropagation", "NeurIPS 2021, arXiv:2106.12915", "Q"),
        Source("sun2026", "Matthew Sun",
               "Two hidden layers compute the maximum of six numbers (public repository, not peer reviewed)",
               "github.com/msun170/relu-max6, 2026", "Q"),
        Source("project", "this project", "derived and checked exactly by the toolkit", "verify 0.1, 2026", "D"),
    ]
}


def source(key: str) -> Source:
    return SOURCES[key]
