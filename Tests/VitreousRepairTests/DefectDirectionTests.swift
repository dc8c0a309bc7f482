import Foundation
import Testing
import VitreousDemo
import VitreousModel
@testable import VitreousRepair

@Suite("Defect direction from the weights")
struct DefectDirectionTests {
    static let u = PlantedArtifacts.directions.u

    static func alignment(_ layer: LayerDefectDirection) -> Double {
        abs(Synthetic.cosine(layer.direction, u))
    }

    @Test("planted fixture: u_l ≈ u in blocks 3–5, no dominant direction in blocks 0–1")
    func planted() throws {
        let weights = try PlantedArtifacts.weights(variant: .planted, seed: 0)
        let result = try SingularDefect.directions(of: weights)
        #expect(result.layers.count == 6)
        for layer in result.layers {
            print("planted layer \(layer.layer): |cos(u_l, u)| \(Self.alignment(layer)), σ1 \(layer.sigma1), "
                + "σ2 \(layer.sigma2), gap \(layer.gap)")
            #expect(abs(Synthetic.norm(layer.direction) - 1) < 1e-5)
            let largest = layer.direction.indices.max { abs(layer.direction[$0]) < abs(layer.direction[$1]) }
            #expect(largest.map { layer.direction[$0] > 0 } == true, "canonical sign")
        }
        for l in 3...5 {
            #expect(Self.alignment(result.layers[l]) >= 0.95, "layer \(l)")
            #expect(result.layers[l].hasDominantDirection)
        }
        // The planted model (RegisterRepair.md, "The planted-artifact model"): gaps ≈ 2.0 / 4.0 / 7.9 where the amplifier acts.
        for (l, gap) in [(3, 2.0), (4, 4.0), (5, 7.9)] {
            #expect(abs(result.layers[l].gap - gap) / gap < 0.1, "layer \(l) gap \(result.layers[l].gap)")
        }
        for l in 0...1 {
            #expect(result.layers[l].gap < 1.05 && !result.layers[l].hasDominantDirection, "layer \(l)")
        }
        #expect(result.weightsFingerprint.count == 64 && result.jacobian == "analytic")
    }

    @Test("clean fixture: no block has a dominant direction")
    func clean() throws {
        let result = try SingularDefect.directions(of: try PlantedArtifacts.weights(variant: .clean, seed: 0))
        for layer in result.layers {
            print("clean layer \(layer.layer): gap \(layer.gap)")
            #expect(!layer.hasDominantDirection && layer.gap < 1.05, "layer \(layer.layer) gap \(layer.gap)")
        }
    }

    @Test("analytic and Monte-Carlo Jacobians give the same directions (|cos| ≥ 0.999)")
    func monteCarloAgrees() throws {
        let weights = try PlantedArtifacts.weights(variant: .planted, seed: 0)
        var options = DefectDirectionOptions(computeFingerprint: false)
        let analytic = try SingularDefect.directions(of: weights, options: options)
        options.jacobian = .monteCarlo(samples: 20_000, seed: 3)
        let sampled = try SingularDefect.directions(of: weights, options: options)
        #expect(sampled.jacobian == "monteCarlo(samples: 20000, seed: 3)")
        for l in 2...5 {
            let agreement = abs(Synthetic.cosine(analytic.layers[l].direction, sampled.layers[l].direction))
            print("layer \(l): analytic vs Monte-Carlo |cos| \(agreement), gaps \(analytic.layers[l].gap) / \(sampled.layers[l].gap)")
            if l >= 3 { #expect(agreement >= 0.999, "layer \(l)") }
        }
        // The Jacobians themselves: the sampling error shrinks like 1/√M.
        let block = weights.blocks[3]
        let exact = try MLPJacobian.compute(block: block, config: weights.config)
        let fitted = try MLPJacobian.compute(block: block, config: weights.config, method: .monteCarlo(samples: 20_000, seed: 3))
        let error = zip(exact.values, fitted.values).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        print("block 3 Jacobian: ‖J_mc − J‖/‖J‖ = \(error / exact.frobeniusNorm)")
        #expect(error / exact.frobeniusNorm < 0.05)
    }

    @Test("the amplifier is recovered exactly: uᵀ(C − I)u = 1 in blocks 3–5")
    func amplifierInLinearModel() throws {
        let weights = try PlantedArtifacts.weights(variant: .planted, seed: 0)
        let u = Self.u.map(Double.init)
        for l in [1, 3] {
            let model = try BlockLinearModel(block: weights.blocks[l], config: weights.config)
            let image = model.mlp.times(u)
            let gain = zip(u, image).reduce(0) { $0 + $1.0 * $1.1 } - 1
            #expect(abs(gain - (l == 3 ? 1 : 0)) < 0.05, "block \(l): \(gain)")
        }
    }

    @Test("SwiGLU: planted amplifier via silu(z) − silu(−z) = z; analytic matches Monte-Carlo")
    func swiglu() throws {
        let weights = try Self.swigluPlanted()
        let analytic = try SingularDefect.directions(of: weights)
        for l in 3...5 {
            print("swiglu layer \(l): |cos| \(Self.alignment(analytic.layers[l])), gap \(analytic.layers[l].gap)")
            #expect(Self.alignment(analytic.layers[l]) >= 0.95 && analytic.layers[l].hasDominantDirection)
        }
        let sampled = try SingularDefect.directions(
            of: weights, options: DefectDirectionOptions(jacobian: .monteCarlo(samples: 20_000, seed: 5), computeFingerprint: false))
        for l in 3...5 {
            #expect(abs(Synthetic.cosine(analytic.layers[l].direction, sampled.layers[l].direction)) >= 0.999)
        }
        // Random SwiGLU rows with biases: quadrature-based J against a large sample.
        var config = weights.config
        config.mlpHiddenSize = 32
        var random = try ViTHostWeights.random(config: config, seed: 9,
                                               scales: RandomWeightScales(linearStd: 0.2, biasStd: 0.5))
        random.blocks[0].fc1Bias[0] = 3
        let exact = try MLPJacobian.compute(block: random.blocks[0], config: config)
        let fitted = try MLPJacobian.compute(block: random.blocks[0], config: config, method: .monteCarlo(samples: 200_000))
        let error = zip(exact.values, fitted.values).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        print("random SwiGLU Jacobian: ‖J_mc − J‖/‖J‖ = \(error / exact.frobeniusNorm)")
        #expect(error / exact.frobeniusNorm < 0.03)
    }

    @Test("GELU closed form equals the quadrature of E[GELU′(a)]")
    func geluClosedForm() throws {
        let rule = GaussHermite.sixtyFour
        for (mu, s) in [(0.0, 1.0), (-4.0, 1.0), (1.5, 0.3), (-0.7, 2.5)] {
            let z = mu / (1 + s * s).squareRoot()
            let closed = MLPJacobian.normalCDF(z) + mu * MLPJacobian.normalPDF(z) / pow(1 + s * s, 1.5)
            let quadrature = rule.expectation(mean: mu, std: s) { a in MLPJacobian.normalCDF(a) + a * MLPJacobian.normalPDF(a) }
            // Φ is not a polynomial, so 64 nodes leave ~1e-8 at large s: the check is of the formula, not of digits.
            #expect(abs(closed - quadrature) < 1e-7, "μ \(mu) s \(s): \(closed) vs \(quadrature)")
        }
    }

    @Test("64-node Gauss–Hermite nodes and weights")
    func gaussHermite() throws {
        let rule = GaussHermite.sixtyFour
        #expect(rule.nodes.count == 64 && rule.weights.allSatisfy { $0 > 0 })
        #expect(abs(rule.weights.reduce(0, +) - Double.pi.squareRoot()) < 1e-13)
        for i in 0..<32 {
            #expect(abs(rule.nodes[i] + rule.nodes[63 - i]) < 1e-12 && abs(rule.weights[i] - rule.weights[63 - i]) < 1e-15)
        }
        #expect(zip(rule.nodes, rule.nodes.dropFirst()).allSatisfy { $0 < $1 })
        // Moments of N(0, 1) are exact up to degree 127: E[z^2k] = (2k − 1)!!.
        var doubleFactorial = 1.0
        for k in 1...40 {
            doubleFactorial *= Double(2 * k - 1)
            let moment = rule.expectation(mean: 0, std: 1) { pow($0, Double(2 * k)) }
            #expect(abs(moment / doubleFactorial - 1) < 1e-10, "E[z^\(2 * k)]")
        }
        #expect(abs(rule.expectation(mean: 0, std: 1, cos) - exp(-0.5)) < 1e-14)
        #expect(abs(rule.expectation(mean: 2, std: 0.5) { $0 } - 2) < 1e-14)
        // A small rule against published values (Abramowitz & Stegun 25.4.46, n = 5).
        let five = try GaussHermite(count: 5)
        let nodes = [-2.020182870456086, -0.9585724646138185, 0, 0.9585724646138185, 2.020182870456086]
        let weights = [0.01995324205904591, 0.3936193231522412, 0.9453087204829419, 0.3936193231522412, 0.01995324205904591]
        for i in 0..<5 {
            #expect(abs(five.nodes[i] - nodes[i]) < 1e-13 && abs(five.weights[i] - weights[i]) < 1e-13)
        }
        #expect(errorText { _ = try GaussHermite(count: 0) }.contains("1…200"))
    }

    @Test("Weight fingerprints: SHA-256 of float32 little-endian bytes, as Python's hashlib gives them")
    func fingerprints() throws {
        // hashlib.sha256(struct.pack('<f', 1.0)).hexdigest(): 1.0 is 00 00 80 3f.
        #expect(try WeightFingerprint.sha256([[1]]) == "e00e5eb9444182f352323374ef4e08ebcb784725fdd4fd612d7730540b3e0c8c")
        // Arrays run together with nothing in between: struct.pack('<3f', 1, -2.5, 0.125) + struct.pack('<2f', 3, 4).
        #expect(try WeightFingerprint.sha256([[1, -2.5, 0.125], [3, 4]])
                == "7e966e3e8b010091505448588b8d2c2a7475ac76b3ed88a148a28e5333c7dea7")
        #expect(try WeightFingerprint.sha256([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

        let weights = try PlantedArtifacts.weights(variant: .planted, seed: 0)
        let key = try WeightFingerprint.defectDirection(weights)
        #expect(key == (try WeightFingerprint.defectDirection(try PlantedArtifacts.weights(variant: .planted, seed: 0))))
        #expect(key != (try WeightFingerprint.defectDirection(try PlantedArtifacts.weights(variant: .clean, seed: 0))))
        var edited = weights
        edited.blocks[4].fc2Weight[17] += 1e-6
        #expect(key != (try WeightFingerprint.defectDirection(edited)))
        edited = weights
        edited.blocks[4].qkvWeight[0] += 1  // Q rows are not part of the linear model
        #expect(key == (try WeightFingerprint.defectDirection(edited)))
        #expect(try WeightFingerprint.registerNeurons(weights, layers: [2, 1]) ==
            (try WeightFingerprint.sha256([weights.blocks[1].fc1Weight, weights.blocks[2].fc1Weight])))
        #expect(errorText { _ = try WeightFingerprint.registerNeurons(weights, layers: [6]) }.contains("layer 6 does not exist"))
    }

    @Test("dsyevr's pair is an eigenpair of G·Gᵀ with σ = ‖Gᵀu‖, signed, and survives JSON")
    func lapackEigenpair() throws {
        let weights = try PlantedArtifacts.weights(variant: .clean, seed: 0)
        var product = DoubleMatrix.identity(64)
        for block in weights.blocks {
            product = try BlockLinearModel(block: block, config: weights.config).block.multiplied(by: product)
        }
        let result = try SingularDefect.analyse(product, layer: 5, minimumGap: 1.05)
        let u = result.direction.map(Double.init)
        let image = product.times(u, transposed: true)
        let back = product.times(image)
        // ‖G·Gᵀu − σ1²u‖ / σ1² is rounding only (u is stored in float32: 2⁻²⁴ per entry, 64 entries).
        let residual = zip(back, u).map { ($0 - result.sigma1 * result.sigma1 * $1) }.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(residual / (result.sigma1 * result.sigma1) < 1e-5)
        #expect(abs(u.reduce(0) { $0 + $1 * $1 } - 1) < 1e-6)
        #expect(result.sigma1 >= result.sigma2 && result.sigma2 > 0 && abs(result.gap - result.sigma1 / result.sigma2) < 1e-12)
        let largest = u.indices.max { abs(u[$0]) < abs(u[$1]) } ?? 0
        #expect(u[largest] > 0)
        // JSON cached by the former power iteration carries four more keys; it must still decode.
        var legacy = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(result)) as? [String: Any])
        legacy["iterations"] = 812; legacy["converged"] = true; legacy["secondIterations"] = 90; legacy["secondConverged"] = true
        #expect(try JSONDecoder().decode(LayerDefectDirection.self, from: try JSONSerialization.data(withJSONObject: legacy)) == result)
        let all = try SingularDefect.directions(of: weights, options: DefectDirectionOptions(computeFingerprint: false))
        let json = try JSONEncoder().encode(all)
        #expect(try JSONDecoder().decode(DefectDirections.self, from: json) == all)
    }

    @Test("weights that do not fit their configuration are refused")
    func invalidWeights() throws {
        var weights = try PlantedArtifacts.weights(variant: .planted, seed: 0)
        weights.blocks[2].fc2Weight.removeLast()
        #expect(errorText { _ = try SingularDefect.directions(of: weights) }.contains("fc2Weight holds 16383 values"))
        weights = try PlantedArtifacts.weights(variant: .planted, seed: 0)
        weights.blocks[1].norm1Weight[0] = .nan
        #expect(errorText { _ = try SingularDefect.directions(of: weights) }.contains("norm1Weight holds a non-finite"))
        weights = try PlantedArtifacts.weights(variant: .planted, seed: 0)
        #expect(errorText {
            _ = try MLPJacobian.compute(block: weights.blocks[0], config: weights.config, method: .monteCarlo(samples: 10))
        }.contains("more samples than inputs"))
        #expect(errorText {
            _ = try SingularDefect.directions(of: weights, options: DefectDirectionOptions(minimumGap: 0.5))
        }.contains("minimum gap"))
    }

    @Test("ViT-S-sized random model (timing; set VITREOUS_REPAIR_TIMING=1)",
          .enabled(if: ProcessInfo.processInfo.environment["VITREOUS_REPAIR_TIMING"] == "1"))
    func vitSmallTiming() throws {
        let weights = try ViTHostWeights.random(config: .small, seed: 1)
        let start = Date()
        let result = try SingularDefect.directions(of: weights, options: DefectDirectionOptions(computeFingerprint: false))
        let directions = Date().timeIntervalSince(start)
        let hashStart = Date()
        _ = try WeightFingerprint.defectDirection(weights)
        let hashing = Date().timeIntervalSince(hashStart)
        for layer in result.layers {
            print("ViT-S layer \(layer.layer): gap \(layer.gap)")
        }
        print("ViT-S defect directions: \(directions) s; fingerprint: \(hashing) s")
        #expect(result.layers.count == 12)
    }

    /// A `swiglu` variant of the planted model: the planted fixture's random weights with a SwiGLU MLP, and the amplifier in
    /// blocks 3–5 as gate rows ±u with their up rows zero and bias 1 (so `h = silu(±u·y)`).
    static func swigluPlanted() throws -> ViTHostWeights {
        var config = PlantedArtifacts.config
        config.mlp = .swiglu
        let scales = RandomWeightScales(linearStd: 0.02, biasStd: 0, embeddingStd: 0.02, layerScale: 1, normJitter: 0)
        var weights = try ViTHostWeights.random(config: config, seed: 0, scales: scales)
        let (d, h) = (config.hiddenSize, config.mlpHiddenSize)
        for block in 3...5 {
            for (unit, sign) in [(11, Float(1)), (12, Float(-1))] {
                for i in 0..<d {
                    weights.blocks[block].fc1Weight[unit * d + i] = sign * u[i]
                    weights.blocks[block].fc1Weight[(h + unit) * d + i] = 0
                    weights.blocks[block].fc2Weight[i * h + unit] = sign * u[i]
                }
                weights.blocks[block].fc1Bias[unit] = 0
                weights.blocks[block].fc1Bias[h + unit] = 1
            }
        }
        return weights
    }
}
